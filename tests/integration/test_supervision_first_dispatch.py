"""A case's first dispatch takes a short way (nothing is known of the case yet, so nothing is
asked of the database): it must come out exactly as the long way does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from contracts.events import (
    CASE_ACCEPTED,
    CASE_DISPATCHED,
    Assignee,
    CaseAccepted,
    CaseDispatched,
    Deadlines,
    Envelope,
)
from kernel.calendar import package_last_year
from kit.db import Store
from kit.sla import load_sla_policy
from services.supervision.clocks import ClockBook
from services.supervision.models import TABLES, Assignment, Base, ClockRow, FollowedCase
from services.supervision.unit_of_work import SqlSupervisionUnitOfWork
from tests.support.databases import store_with_tables
from tests.support.harness import CONFIG_DIR

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday morning, working hours
GRID = Assignee(kind="grid", code="G-0101", name="城关一网格")
CLOCK_FIELDS = ("kind", "level", "assignee_code", "state", "started_at", "warn_at", "due_at",
                "planned_due_at", "next_due_at", "stopped_at", "cancelled_at", "paused_at",
                "warned", "overdue", "escalation_asked", "calendar_uncertain")  # fmt: skip
ASSIGNMENT_FIELDS = ("assignee_kind", "assignee_code", "level", "dispatched_at", "ended_at",
                     "ended_by", "returned", "concluded", "reopened", "satisfaction")  # fmt: skip


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "supervision", TABLES, Base.metadata) as store:
        yield store


def dispatched(case_id: str, risk: str, at: datetime = AT) -> Envelope[CaseDispatched]:
    deadlines = Deadlines(
        respond_by=at + timedelta(hours=2),
        feedback_by=at + timedelta(hours=24),
        resolve_by=at + timedelta(days=5),
    )
    data = CaseDispatched(
        assignee=GRID, level="grid", deadlines=deadlines, dispatched_by="auto",
        category="dispute.neighbour", channel="grid", risk=risk,  # type: ignore[arg-type]
        territory={"grid": "G-0101", "street": "S-01"},
    )  # fmt: skip
    return CASE_DISPATCHED.new(data, case_id=case_id, occurred_at=at)


def outcome(store: Store, case_id: str) -> dict[str, Any]:
    with store.read() as session:
        case = session.get(FollowedCase, case_id)
        assert case is not None
        [assignment] = session.query(Assignment).filter_by(case_id=case_id).all()
        clocks = session.query(ClockRow).filter_by(case_id=case_id).order_by(ClockRow.kind).all()
        return {
            "case": (case.channel, case.category, case.risk, case.territory, case.climbs),
            "holder_is_the_dispatch": case.assignment_id == assignment.id,
            "assignment": {name: getattr(assignment, name) for name in ASSIGNMENT_FIELDS},
            "clocks": [{name: getattr(c, name) for name in CLOCK_FIELDS} for c in clocks],
        }


@pytest.mark.parametrize("risk", ["blue", "red"])
def test_a_first_dispatch_comes_out_as_the_long_way_would_have_it(store: Store, risk: str) -> None:
    policy = load_sla_policy(CONFIG_DIR)
    with SqlSupervisionUnitOfWork(store, "test") as uow:  # the long way: the case is known
        uow.records.follow("CF-LONG")
        uow.commit()
    for case_id in ("CF-SHORT", "CF-LONG"):
        with SqlSupervisionUnitOfWork(store, "test") as uow:
            ClockBook(uow, policy).apply(dispatched(case_id, risk))
            uow.commit()
    short, long = outcome(store, "CF-SHORT"), outcome(store, "CF-LONG")
    assert short == long
    assert short["holder_is_the_dispatch"]
    assert [c["kind"] for c in short["clocks"]] == ["feedback", "resolve", "respond"]
    assert all(c["state"] == "open" for c in short["clocks"])


def test_working_days_in_an_unknown_year_flag_the_clock_uncertain(store: Store) -> None:
    """A resolve limit in working days, dispatched in a year the calendar does not know, is
    counted Monday to Friday and flagged; the wall-clock limits of the same case are not."""
    policy = load_sla_policy(CONFIG_DIR)
    later = AT.replace(year=package_last_year() + 1)
    event = dispatched("CF-LATER", "blue", at=later)
    before = uncertain_resolve_clocks()
    for each in (event, dispatched("CF-NOW", "blue")):
        with SqlSupervisionUnitOfWork(store, "test") as uow:
            ClockBook(uow, policy).apply(each)
            uow.commit()
    flags = {c["kind"]: c["calendar_uncertain"] for c in outcome(store, "CF-LATER")["clocks"]}
    assert flags == {"respond": False, "feedback": False, "resolve": True}
    assert uncertain_resolve_clocks() == before + 1
    known = {c["kind"]: c["calendar_uncertain"] for c in outcome(store, "CF-NOW")["clocks"]}
    assert not any(known.values())


def uncertain_resolve_clocks() -> float:
    value = REGISTRY.get_sample_value(
        "civicflow_calendar_uncertain_clocks_total", {"clock": "resolve"}
    )
    return value or 0.0


def accepted(case_id: str, minutes: int) -> Envelope[CaseAccepted]:
    data = CaseAccepted(assignee=GRID, by="grid-worker-1")
    return CASE_ACCEPTED.new(data, case_id=case_id, occurred_at=AT + timedelta(minutes=minutes))


def redispatched(case_id: str, minutes: int) -> Envelope[CaseDispatched]:
    """Sent back and dispatched again, red, later that morning: the first dispatch ends."""
    event = dispatched(case_id, "red")
    return event.model_copy(update={"occurred_at": AT + timedelta(minutes=minutes)})


def history(store: Store, case_id: str) -> dict[str, Any]:
    with store.read() as session:
        case = session.get(FollowedCase, case_id)
        assert case is not None
        assignments = session.query(Assignment).filter_by(case_id=case_id).all()
        clocks = session.query(ClockRow).filter_by(case_id=case_id).all()
        return {
            "case": (case.channel, case.category, case.risk, case.territory, case.climbs),
            "assignments": sorted(tuple(getattr(a, n) for n in ASSIGNMENT_FIELDS[:5])
                                  for a in assignments),
            "clocks": sorted(tuple(str(getattr(c, n)) for n in CLOCK_FIELDS) for c in clocks),
        }  # fmt: skip


def test_a_batch_locked_at_once_comes_out_as_its_events_one_by_one(store: Store) -> None:
    """``follow_all`` locks a batch's cases up front; the first event of each new case takes
    the short way, its later events and known cases the long way, as one by one would."""
    policy = load_sla_policy(CONFIG_DIR)
    for prefix in ("ONE", "ALL"):  # a case known before the batch, dispatched once already
        with SqlSupervisionUnitOfWork(store, "test") as uow:
            ClockBook(uow, policy).apply(dispatched(f"{prefix}-KNOWN", "blue"))
            uow.commit()
    stories = {
        prefix: [dispatched(f"{prefix}-NEW", "blue"), redispatched(f"{prefix}-KNOWN", 30),
                 accepted(f"{prefix}-NEW", 10), redispatched(f"{prefix}-NEW", 40)]
        for prefix in ("ONE", "ALL")
    }  # fmt: skip
    for event in stories["ONE"]:
        with SqlSupervisionUnitOfWork(store, "test") as uow:
            ClockBook(uow, policy).apply(event)
            uow.commit()
    with SqlSupervisionUnitOfWork(store, "test") as uow:
        book = ClockBook(uow, policy)
        book.follow_all(stories["ALL"])
        for event in stories["ALL"]:
            book.apply(event)
        uow.commit()
    for case in ("NEW", "KNOWN"):
        one_by_one, at_once = history(store, f"ONE-{case}"), history(store, f"ALL-{case}")
        assert one_by_one == at_once
        ended = [a for a in at_once["assignments"] if a[4] is not None]
        assert len(ended) == 1  # the second dispatch ended the first
