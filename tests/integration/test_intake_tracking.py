"""A new case's status is kept back in memory while its batch moves it, and written once: it
must come out as the long way (its row already there, moved through the ORM) has it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.events import (
    CASE_ACCEPTED,
    CASE_DISPATCHED,
    Assignee,
    CaseAccepted,
    CaseDispatched,
    Deadlines,
    Envelope,
)
from kit.db import Store
from services.intake.handlers import move_status
from services.intake.models import TABLES, Base, CaseStatus, Submission
from services.intake.unit_of_work import SqlIntakeUnitOfWork
from tests.support.databases import store_with_tables

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
GRID = Assignee(kind="grid", code="G-0101", name="城关一网格")


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "intake", TABLES, Base.metadata) as store:
        yield store


def submitted(store: Store, case_id: str) -> None:
    with store.unit_of_work() as uow:
        uow.session.add(
            Submission(
                case_id=case_id, source="hotline-12345", external_id=case_id, channel="hotline",
                transport="http", case={}, content="噪音扰民", received_at=AT, created_at=AT,
            )
        )  # fmt: skip
        uow.commit()


def events(case_id: str) -> list[Envelope[Any]]:
    deadlines = Deadlines(
        respond_by=AT + timedelta(hours=2), feedback_by=AT + timedelta(hours=24),
        resolve_by=AT + timedelta(days=5),
    )  # fmt: skip
    dispatched = CaseDispatched(
        assignee=GRID, level="grid", deadlines=deadlines, dispatched_by="auto",
        category="dispute.neighbour", channel="hotline", risk="blue", territory={},
    )  # fmt: skip
    accepted = CaseAccepted(assignee=GRID, by="grid-worker-01")
    return [
        CASE_DISPATCHED.new(dispatched, case_id=case_id, occurred_at=AT),
        CASE_ACCEPTED.new(accepted, case_id=case_id, occurred_at=AT + timedelta(minutes=5)),
        # an older word arriving late moves nothing
        CASE_DISPATCHED.new(dispatched, case_id=case_id, occurred_at=AT - timedelta(minutes=1)),
    ]


def tracked(store: Store, case_id: str) -> list[str | None]:
    with SqlIntakeUnitOfWork(store.unit_of_work) as uow:
        uow.statuses.load([case_id])
        moved = [
            move_status(uow.statuses, event, event.data.model_dump(mode="json"))
            for event in events(case_id)
        ]
        uow.commit()  # a new status is written here, as it stands after the batch
    return moved


def stored(store: Store, case_id: str) -> tuple[Any, ...]:
    with store.read() as session:
        row = session.get(CaseStatus, case_id)
        assert row is not None
        return row.status, row.status_at, row.assignee, row.level, row.deadlines


def test_a_new_cases_status_comes_out_as_the_long_way_would_have_it(store: Store) -> None:
    for case_id in ("CF-SHORT", "CF-LONG"):
        submitted(store, case_id)
    with store.unit_of_work() as uow:  # the long way: the row is there before the batch
        uow.session.add(CaseStatus(case_id="CF-LONG", status="received", status_at=AT))
        uow.commit()
    assert (
        tracked(store, "CF-SHORT")
        == tracked(store, "CF-LONG")
        == [
            "dispatched",
            "accepted",
            None,
        ]
    )
    assert stored(store, "CF-SHORT") == stored(store, "CF-LONG")
    status, at, assignee, level, deadlines = stored(store, "CF-SHORT")
    assert (status, at, level) == ("accepted", AT + timedelta(minutes=5), "grid")
    assert assignee == GRID.model_dump() and deadlines is not None
