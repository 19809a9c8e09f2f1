"""一单考评's desk row (直办) from its counters, on SQLite and PostgreSQL: the marks written in a
counted session (as the unit of work's) bring the desk's days up to date, and the row sums the
period's days: the period's conclusions at the desk only, and each case's last revisit answer,
whenever it came, whatever the order the facts were written in and however often."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from kit.db import Store
from kit.migrations import upgrade
from services.supervision.assessment import Period
from services.supervision.counting import keep_counters
from services.supervision.models import TABLES, AssignmentTally, Base, Mark
from services.supervision.reports import desk_row
from services.supervision.repository import SupervisionRepository
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


def write_counted(store: Store, marks: list[Mark]) -> None:
    """Each mark in its own counted transaction, through the repository (as a handler does)."""
    for written in marks:
        with Session(store.engine) as session, ExitStack() as during:
            keep_counters(session, during)
            SupervisionRepository(session).mark(
                written.event_id, written.case_id, written.what, written.at, written.detail
            )
            session.commit()


DESK = {"at_desk": True}


def marks() -> list[Mark]:
    """The facts of the month, new rows each time (a session takes the rows it is given)."""
    return [
        mark("CF-1", "concluded", 0, DESK),
        mark("CF-1", "closed", 1, {"satisfaction": "satisfied"}),
        # unsatisfied, reopened, then satisfied in December: the last answer counts
        mark("CF-2", "concluded", 1, DESK),
        mark("CF-2", "reopened", 2, {"satisfaction": "unsatisfied"}),
        mark("CF-2", "closed", 25, {"satisfaction": "basically_satisfied"}),
        mark("CF-3", "concluded", 2, DESK), mark("CF-3", "closed", 3, {"satisfaction": None}),
        mark("CF-4", "concluded", 3, DESK),
        mark("CF-4", "closed", 4, {"satisfaction": "unsatisfied"}),
        # concluded by a unit, not at the desk; at the desk but in October
        mark("CF-5", "concluded", 0), mark("CF-5", "closed", 1, {"satisfaction": "satisfied"}),
        mark("CF-6", "concluded", -20, DESK),
        mark("CF-6", "closed", 1, {"satisfaction": "satisfied"}),
        mark("CF-7", "accepted", 0, DESK),
    ]  # fmt: skip


def test_the_desk_row_counts_the_periods_desk_conclusions_and_their_last_answers(
    store: Store,
) -> None:
    # the answers before their conclusions, then everything again: counted once, the same
    write_counted(store, marks()[::-1] + marks())
    with store.read() as session:
        row = desk_row(session, Period.parse("2026-11"))
        october = desk_row(session, Period.parse("2026-10"))
        nothing = desk_row(session, Period.parse("2026-09"))
    assert row is not None
    assert (row["assignee_kind"], row["assignee_code"], row["dispatched"]) == ("desk", "centre", 0)
    assert (row["handled_at_desk"], row["revisited"]) == (4, 3)
    assert row["satisfaction_rate"] == pytest.approx(2 / 3)
    assert october is not None
    assert (october["handled_at_desk"], october["satisfaction_rate"]) == (1, 1.0)
    assert nothing is None


def test_marks_added_as_rows_are_counted_too(store: Store) -> None:
    with Session(store.engine) as session, ExitStack() as during:
        keep_counters(session, during)
        session.add_all([mark("CF-8", "concluded", 0, DESK),
                         mark("CF-8", "closed", 1, {"satisfaction": "unsatisfied"})])  # fmt: skip
        session.commit()
    with store.read() as session:
        row = desk_row(session, Period.parse("2026-11"))
    assert row is not None
    assert (row["handled_at_desk"], row["revisited"], row["satisfaction_rate"]) == (1, 1, 0.0)


def test_the_migration_counts_the_desk_conclusions_kept_before_it(database_url: str) -> None:
    upgrade("supervision", database_url, "supervision_scale_marks_by_what")
    store = Store(database_url, "supervision", TABLES)
    try:
        with Session(store.engine) as session:  # written before the counters were kept
            session.add_all(marks())
            session.commit()
        upgrade("supervision", database_url)
        # what each case added is kept: a later answer adds only the difference
        write_counted(store, [mark("CF-3", "closed", 30, {"satisfaction": "satisfied"})])
        with store.read() as session:
            row = desk_row(session, Period.parse("2026-11"))
            kept = session.get(AssignmentTally, "desk:CF-2")
        assert row is not None
        assert (row["handled_at_desk"], row["revisited"]) == (4, 4)
        assert row["satisfaction_rate"] == pytest.approx(3 / 4)
        assert kept is not None and kept.counts == {"concluded": 1, "revisited": 1, "satisfied": 1}
    finally:
        store.dispose()
