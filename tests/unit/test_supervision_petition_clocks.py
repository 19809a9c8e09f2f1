"""信访: supervision keeps a petition's own clocks (受理告知, the stage's written answer) beside
a dispatch's three, moves them with acceptance and an approved extension, stops them with the
answer, starts the review's, and names them in ``sla.warning`` / ``sla.overdue``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from contracts.events import (
    CASE_DISPATCHED,
    CASE_EXTENSION_DECIDED,
    PETITION_ACKNOWLEDGED,
    PETITION_ANSWERED,
    PETITION_REVIEW_REQUESTED,
    SLA_OVERDUE,
    SLA_WARNING,
    Assignee,
    CaseDispatched,
    CaseExtensionDecided,
    Deadlines,
    Envelope,
    PetitionAcknowledged,
    PetitionAnswered,
    PetitionReviewRequested,
)
from kernel.petition import end_of_day_after
from tests.support.fake_supervision import FakeSupervisionUnitOfWork
from tests.unit.test_supervision_handlers import AT, TERRITORY, event, follow, scan

BUREAU = Assignee(kind="department", code="D-XF", name="县信访局")
ACKNOWLEDGE_BY = end_of_day_after(AT, 15)
ANSWER_BY = end_of_day_after(AT, 60)


def petition_dispatched(at: datetime = AT, answer_by: datetime = ANSWER_BY) -> Envelope[Any]:
    deadlines = Deadlines(
        respond_by=at + timedelta(hours=2), feedback_by=at + timedelta(hours=24),
        resolve_by=at + timedelta(days=5), acknowledge_by=ACKNOWLEDGE_BY, answer_by=answer_by,
    )  # fmt: skip
    data = CaseDispatched(
        assignee=BUREAU, level="district", deadlines=deadlines, dispatched_by="auto",
        channel="petition", territory=TERRITORY,
    )  # fmt: skip
    return event(CASE_DISPATCHED, data, "CF-P", at)


def petition_clocks(uow: FakeSupervisionUnitOfWork) -> list[tuple[str, str, datetime]]:
    return [
        (c.kind, c.state, c.due_at)
        for c in uow.records.clocks_of("CF-P")
        if c.kind in ("acknowledge", "answer")
    ]


def alerts(uow: FakeSupervisionUnitOfWork) -> list[tuple[str, str]]:
    kinds = (SLA_WARNING.type, SLA_OVERDUE.type)
    return [(e.type, e.data.clock) for e in uow.events if e.type in kinds]


def test_a_petition_dispatch_opens_its_acknowledge_and_answer_clocks() -> None:
    uow = FakeSupervisionUnitOfWork()

    follow(uow, petition_dispatched())

    assert petition_clocks(uow) == [
        ("acknowledge", "open", ACKNOWLEDGE_BY), ("answer", "open", ANSWER_BY)
    ]  # fmt: skip
    [acknowledge] = [c for c in uow.records.clocks_of("CF-P") if c.kind == "acknowledge"]
    assert acknowledge.assignee_code == "D-XF"


def test_the_acknowledge_clock_warns_and_falls_overdue_naming_itself() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, petition_dispatched())

    scan(uow, AT + (ACKNOWLEDGE_BY - AT) / 2)  # the test policy warns at half the limit
    scan(uow, ACKNOWLEDGE_BY)

    assert ("sla.warning", "acknowledge") in alerts(uow)
    assert ("sla.overdue", "acknowledge") in alerts(uow)
    [overdue] = [e for e in uow.of_type(SLA_OVERDUE.type) if e.data.clock == "acknowledge"]
    assert overdue.data.due_at == ACKNOWLEDGE_BY and overdue.data.assignee == BUREAU


def test_acceptance_extension_answer_and_review_move_the_clocks() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, petition_dispatched())
    accepted_at = AT + timedelta(days=3)
    answer_by = end_of_day_after(accepted_at, 60)

    acknowledged = PetitionAcknowledged(answer_by=answer_by, by="xf-1")
    follow(uow, event(PETITION_ACKNOWLEDGED, acknowledged, "CF-P", accepted_at))
    assert petition_clocks(uow) == [
        ("acknowledge", "stopped", ACKNOWLEDGE_BY), ("answer", "open", answer_by)
    ]  # fmt: skip

    extended = answer_by + timedelta(days=30)
    deadlines = Deadlines(respond_by=AT, feedback_by=AT, resolve_by=extended, answer_by=extended)
    decided = CaseExtensionDecided(approved=True, until=extended, deadlines=deadlines, by="sup")
    follow(uow, event(CASE_EXTENSION_DECIDED, decided, "CF-P", AT + timedelta(days=20)))
    assert petition_clocks(uow)[1] == ("answer", "open", extended)

    answered_at = AT + timedelta(days=70)
    answered = PetitionAnswered(stage="handling", by="xf-1")
    follow(uow, event(PETITION_ANSWERED, answered, "CF-P", answered_at))
    assert petition_clocks(uow)[1] == ("answer", "stopped", extended)

    asked_at = answered_at + timedelta(days=10)
    review_by = end_of_day_after(asked_at, 30)
    asked = PetitionReviewRequested(
        stage="review", reason="不服", to_level="district", answer_by=review_by, by="op"
    )
    follow(uow, event(PETITION_REVIEW_REQUESTED, asked, "CF-P", asked_at))
    assert petition_clocks(uow)[2] == ("answer", "open", review_by)

    scan(uow, review_by)  # the review's answer is late: overdue, naming the answer clock
    assert ("sla.overdue", "answer") in alerts(uow)
    assert ("sla.overdue", "acknowledge") not in alerts(uow)  # acknowledged in time


def test_a_second_dispatch_hands_the_running_clocks_over_without_restarting_them() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, petition_dispatched())

    follow(uow, petition_dispatched(at=AT + timedelta(days=2)))

    assert petition_clocks(uow) == [
        ("acknowledge", "open", ACKNOWLEDGE_BY), ("answer", "open", ANSWER_BY)
    ]  # fmt: skip
    assert {c.started_at for c in uow.records.clocks_of("CF-P") if c.kind == "answer"} == {AT}


def test_an_acceptance_handled_before_an_older_dispatch_still_counts() -> None:
    """Two instances, a retry: the second dispatch arrives after the acceptance that followed
    it; the clocks it hands over are those the acceptance left."""
    uow = FakeSupervisionUnitOfWork()
    follow(uow, petition_dispatched())
    accepted_at = AT + timedelta(days=3)
    answer_by = end_of_day_after(accepted_at, 60)
    acknowledged = PetitionAcknowledged(answer_by=answer_by, by="xf-1")
    follow(uow, event(PETITION_ACKNOWLEDGED, acknowledged, "CF-P", accepted_at))

    follow(uow, petition_dispatched(at=AT + timedelta(days=2)))  # older, handled later

    assert petition_clocks(uow) == [
        ("acknowledge", "stopped", ACKNOWLEDGE_BY), ("answer", "open", answer_by)
    ]  # fmt: skip


def test_a_redelivered_acceptance_changes_nothing() -> None:
    uow = FakeSupervisionUnitOfWork()
    follow(uow, petition_dispatched())
    accepted_at = AT + timedelta(days=3)
    acknowledged = event(
        PETITION_ACKNOWLEDGED,
        PetitionAcknowledged(answer_by=end_of_day_after(accepted_at, 60), by="xf-1"),
        "CF-P", accepted_at,
    )  # fmt: skip
    follow(uow, acknowledged)
    scan(uow, end_of_day_after(accepted_at, 50))  # the answer's warning
    warned = [c.warned for c in uow.records.clocks_of("CF-P") if c.kind == "answer"]

    follow(uow, acknowledged)

    assert warned == [True]
    assert [c.warned for c in uow.records.clocks_of("CF-P") if c.kind == "answer"] == [True]
