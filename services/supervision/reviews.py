"""A fair score (一单考评): the checks of a unit's return (退单审核) and of the citizen's
"unsatisfied" (不满意甄别), kept as marks on the assignment they judge. ``domain.settle`` then
counts an approved return and an upheld appeal's rating out of the unit's figures; an upheld
appeal also ends the case's clocks, as the case is closed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from contracts.events import (
    CASE_RATING_APPEAL_DECIDED,
    CASE_RATING_APPEALED,
    CASE_RETURN_REVIEWED,
    CaseReturnReviewed,
    Envelope,
    EventSpec,
    RatingAppealDecided,
)

if TYPE_CHECKING:  # the book imports this module to follow these events
    from services.supervision.clocks import ClockBook


def return_reviewed(book: ClockBook, case_id: str, event: Envelope[CaseReturnReviewed]) -> None:
    book.fact(case_id, event, "return_approved" if event.data.approved else "return_refused")


def rating_appealed(book: ClockBook, case_id: str, event: Envelope[Any]) -> None:
    book.fact(case_id, event, "appealed")


def appeal_decided(book: ClockBook, case_id: str, event: Envelope[RatingAppealDecided]) -> None:
    if not event.data.upheld:
        book.fact(case_id, event, "appeal_rejected")
        return
    book.fact(case_id, event, "appeal_upheld")
    book.cancel_all(case_id, event.occurred_at)  # the rework it called off


REVIEW_HANDLERS: dict[str, Callable[[ClockBook, str, Envelope[Any]], None]] = {
    CASE_RETURN_REVIEWED.type: return_reviewed,
    CASE_RATING_APPEALED.type: rating_appealed,
    CASE_RATING_APPEAL_DECIDED.type: appeal_decided,
}

REVIEWED: tuple[EventSpec[Any], ...] = (
    CASE_RETURN_REVIEWED, CASE_RATING_APPEALED, CASE_RATING_APPEAL_DECIDED,
)  # fmt: skip
