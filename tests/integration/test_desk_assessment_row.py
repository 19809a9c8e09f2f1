"""一单考评's desk row (直办) read from the marks by SQL (the JSON details filtered in the
database, on SQLite and PostgreSQL): the period's conclusions at the desk only, and each case's
last revisit answer, whenever it came."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kit.db import Store
from services.supervision.assessment import Period
from services.supervision.models import TABLES, Base, Mark
from services.supervision.reports import desk_row
from tests.support.databases import store_with_tables

NOVEMBER = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "supervision", TABLES, Base.metadata) as store:
        yield store


def mark(case_id: str, what: str, days: float, detail: dict[str, Any] | None = None) -> Mark:
    at = NOVEMBER + timedelta(days=days)
    return Mark(event_id=f"{case_id}-{what}-{days}", case_id=case_id, what=what, at=at,
                detail=detail)  # fmt: skip


def test_the_desk_row_counts_the_periods_desk_conclusions_and_their_last_answers(
    store: Store,
) -> None:
    desk = {"at_desk": True}
    with Session(store.engine) as session:
        session.add_all([
            mark("CF-1", "concluded", 0, desk),
            mark("CF-1", "closed", 1, {"satisfaction": "satisfied"}),
            # unsatisfied, reopened, then satisfied in December: the last answer counts
            mark("CF-2", "concluded", 1, desk),
            mark("CF-2", "reopened", 2, {"satisfaction": "unsatisfied"}),
            mark("CF-2", "closed", 25, {"satisfaction": "basically_satisfied"}),
            mark("CF-3", "concluded", 2, desk), mark("CF-3", "closed", 3, {"satisfaction": None}),
            mark("CF-4", "concluded", 3, desk),
            mark("CF-4", "closed", 4, {"satisfaction": "unsatisfied"}),
            # concluded by a unit, not at the desk; at the desk but in October
            mark("CF-5", "concluded", 0), mark("CF-5", "closed", 1, {"satisfaction": "satisfied"}),
            mark("CF-6", "concluded", -20, desk),
            mark("CF-6", "closed", 1, {"satisfaction": "satisfied"}),
            mark("CF-7", "accepted", 0, desk),
        ])  # fmt: skip
        session.commit()
    with store.read() as session:
        row = desk_row(session, Period.parse("2026-11"))
        nothing = desk_row(session, Period.parse("2026-09"))
    assert row is not None
    assert (row["handled_at_desk"], row["revisited"]) == (4, 3)
    assert row["satisfaction_rate"] == pytest.approx(2 / 3)
    assert nothing is None
