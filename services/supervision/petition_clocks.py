"""信访: the petition line's own clocks, kept beside a dispatch's three.

The law's limits (信访工作条例) belong to the petition, not to the unit holding it: 受理告知
(``acknowledge``) and the stage's written answer (``answer``: 办理, 复查, 复核) run on through a
return or a second dispatch, in calendar days, and are never paused by an extension's asking.
Dispatch computes each limit (``kernel.petition``, ``sla.yml`` ``petition:``); here they are
followed from the events that carry them, and the scan warns and reports them overdue with
``data.clock`` naming them, as any other clock.

A petition clock is owned by the assignment holding the petition (so an alert names the unit),
or, between a review's asking and its dispatch, by the asking itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from contracts.events import (
    PETITION_ACKNOWLEDGED,
    PETITION_ANSWERED,
    PETITION_REVIEW_REQUESTED,
    CaseDispatched,
    CaseExtensionDecided,
    Envelope,
    EventSpec,
    PetitionAcknowledged,
    PetitionReviewRequested,
)
from services.supervision import domain
from services.supervision.models import ClockRow
from services.supervision.repository import RUNNING

if TYPE_CHECKING:  # the book imports this module to follow these events
    from services.supervision.clocks import ClockBook

PETITION: Final = "petition:"
"""Owner of a review's answer clock until the level above dispatches it."""
PETITION_KINDS: Final = ("acknowledge", "answer")


def dues_of(event: Envelope[CaseDispatched]) -> dict[str, datetime]:
    """The petition limits a dispatch carries (none on any other line)."""
    deadlines = event.data.deadlines
    dues = {"acknowledge": deadlines.acknowledge_by, "answer": deadlines.answer_by}
    return {kind: due for kind, due in dues.items() if due is not None}


def first_clocks(book: ClockBook, case_id: str, event: Envelope[CaseDispatched]) -> list[ClockRow]:
    """A petition's first dispatch: its clocks start from it (nothing else of it is known)."""
    fact, at = event.data, event.occurred_at
    return [
        _new(book, case_id, event.event_id, kind, at, due, fact.level, fact.assignee.code)
        for kind, due in dues_of(event).items()
    ]


def dispatched(book: ClockBook, case_id: str, event: Envelope[CaseDispatched]) -> None:
    """Another dispatch of a petition: its running clocks pass to the new holder, at the limits
    the dispatch names; a limit no clock kept at its time starts now. Steps already handled
    after it (events out of order) are applied again from their marks."""
    fact, at = event.data, event.occurred_at
    for kind, due in dues_of(event).items():
        alive = [c for c in book.repo.clocks_of(case_id) if c.kind == kind and _alive_at(c, at)]
        for clock in alive:
            if clock.state in RUNNING and clock.started_at <= at:  # else: a later step's
                clock.owner, clock.level = event.event_id, fact.level
                clock.assignee_code = fact.assignee.code
                move(clock, due, book.warn)
        if not alive:
            book.repo.add(_new(book, case_id, event.event_id, kind, at, due, fact.level,
                               fact.assignee.code))  # fmt: skip
    for mark in book.repo.marks_between(case_id, at, None):
        # a step handled before this older dispatch (two instances, a retry): applied again
        if mark.what == "acknowledged" and mark.detail and mark.detail.get("answer_by"):
            _acknowledge(book, case_id, mark.at, datetime.fromisoformat(mark.detail["answer_by"]))
        elif mark.what == "answered":
            for clock in _running(book, case_id, "answer", mark.at):
                _stop(clock, mark.at)


def acknowledged(book: ClockBook, case_id: str, event: Envelope[PetitionAcknowledged]) -> None:
    """受理告知 given: its clock is met; the answer now runs from this day."""
    at, answer_by = event.occurred_at, event.data.answer_by
    book.fact(case_id, event, "acknowledged", {"answer_by": answer_by.isoformat()})
    _acknowledge(book, case_id, at, answer_by)


def _acknowledge(book: ClockBook, case_id: str, at: datetime, answer_by: datetime) -> None:
    for clock in _running(book, case_id, "acknowledge", at):
        _stop(clock, at)
    for clock in _running(book, case_id, "answer", at):
        if (clock.started_at, clock.due_at) != (at, answer_by):  # else: seen already
            clock.started_at = at
            move(clock, answer_by, book.warn, again=True)


def answered(book: ClockBook, case_id: str, event: Envelope[Any]) -> None:
    """The stage's written answer (处理/复查/复核意见书): its clock is met."""
    at = event.occurred_at
    book.fact(case_id, event, "answered")
    for clock in _running(book, case_id, "answer", at):
        _stop(clock, at)


def review_requested(
    book: ClockBook, case_id: str, event: Envelope[PetitionReviewRequested]
) -> None:
    """复查 / 复核 asked: the new stage's answer runs from the asking, at the level above."""
    fact, at = event.data, event.occurred_at
    book.fact(case_id, event, "review_asked")
    if any(c.started_at >= at for c in book.repo.running_clocks(case_id, ("answer",))):
        return  # its dispatch came first and started the clock
    for clock in _running(book, case_id, "answer", at):  # a stage left unanswered ends here
        clock.state, clock.cancelled_at, clock.next_due_at = "cancelled", at, None
    owner = f"{PETITION}{event.event_id}"
    book.repo.add(_new(book, case_id, owner, "answer", at, fact.answer_by, fact.to_level, ""))


def extension_decided(book: ClockBook, case_id: str, event: Envelope[CaseExtensionDecided]) -> None:
    """An approved extension of a petition moves its answer's limit (once, 30 days at most:
    dispatch has checked)."""
    deadlines = event.data.deadlines
    if not event.data.approved or deadlines is None or deadlines.answer_by is None:
        return
    for clock in _running(book, case_id, "answer", event.occurred_at):
        move(clock, deadlines.answer_by, book.warn)


def move(clock: ClockRow, due: datetime, warn_fraction: float, again: bool = False) -> None:
    """The clock's limit set to ``due``: its warning and overdue alerts start again when the
    limit moved (or ``again``: it runs from a new start)."""
    if due == clock.due_at and not again:
        return
    clock.due_at = clock.planned_due_at = due
    clock.warn_at = domain.warn_point(clock.started_at, due, warn_fraction)
    clock.warned = clock.overdue = clock.escalation_asked = False
    clock.next_due_at = clock.warn_at


def _alive_at(clock: ClockRow, at: datetime) -> bool:
    """Whether the clock ran at ``at``: it runs yet, or was met or ended after."""
    ended = clock.stopped_at or clock.cancelled_at
    return clock.state in RUNNING or (ended is not None and ended >= at)


def _running(book: ClockBook, case_id: str, kind: str, at: datetime) -> list[ClockRow]:
    return [c for c in book.repo.running_clocks(case_id, (kind,)) if c.started_at <= at]


def _stop(clock: ClockRow, at: datetime) -> None:
    clock.state, clock.stopped_at, clock.next_due_at = "stopped", at, None


def _plan(book: ClockBook, kind: str, at: datetime, due: datetime) -> domain.ClockPlan:
    return domain.ClockPlan(kind, at, due, domain.warn_point(at, due, book.warn))  # type: ignore[arg-type]


def _new(
    book: ClockBook, case_id: str, owner: str, kind: str, at: datetime, due: datetime,
    level: str, assignee_code: str,
) -> ClockRow:  # fmt: skip
    plan = _plan(book, kind, at, due)
    return ClockRow(
        case_id=case_id, owner=owner, kind=kind, level=level, assignee_code=assignee_code,
        state="open", started_at=at, warn_at=plan.warn_at, due_at=due, planned_due_at=due,
        next_due_at=plan.warn_at, warned=False, overdue=False, escalation_asked=False,
        calendar_uncertain=False,
    )  # fmt: skip


PETITION_HANDLERS: dict[str, Callable[[ClockBook, str, Envelope[Any]], None]] = {
    PETITION_ACKNOWLEDGED.type: acknowledged,
    PETITION_ANSWERED.type: answered,
    PETITION_REVIEW_REQUESTED.type: review_requested,
}

PETITION_FOLLOWED: tuple[EventSpec[Any], ...] = (
    PETITION_ACKNOWLEDGED, PETITION_ANSWERED, PETITION_REVIEW_REQUESTED,
)  # fmt: skip
