"""A score people accept as fair (一单考评): the lifecycle actions that let a unit's return and
a citizen's "unsatisfied" be checked before they count against the unit.

* 退单审核 (``review_return``): a return waits for the centre's check. Approved, the case keeps
  waiting for dispatch and the return does not count; refused, the case goes back to the unit
  that returned it, with fresh limits.
* 不满意甄别 (``appeal``, ``decide_appeal``): the lead unit contests an "unsatisfied" once; a
  supervisor decides. Upheld, the rating leaves the score and the case is closed (it is not
  reopened again for it); rejected, the rating stays and the case goes on as it was.

``handle`` is the lifecycle's one entry: the other actions are ``transitions``'. Pure, as they
are: the assessment reads the events (supervision).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from contracts.events import (
    CASE_RATING_APPEAL_DECIDED,
    CASE_RATING_APPEALED,
    CASE_RETURN_REVIEWED,
    CaseReturnReviewed,
    RatingAppealDecided,
    RatingAppealed,
)
from services.dispatch import transitions
from services.dispatch.states import (
    ACTION_OF,
    ACTIONS,
    Actor,
    AppealRating,
    CaseState,
    Command,
    DecideAppeal,
    IllegalTransition,
    NotYourCase,
    Outcome,
    ReviewReturn,
    allowed_actions,
)
from services.dispatch.states import CaseStatus as S

WAITING_FOR: dict[str, str] = {
    "review_return": "no return waits for review",
    "appeal": 'there is no "unsatisfied" to appeal, or it was appealed already',
    "decide_appeal": "no appeal is pending",
}
"""Why an action whose status allows it is refused all the same."""


def handle(state: CaseState, command: Command, actor: Actor, at: datetime) -> Outcome:
    """The lifecycle's step for any command: refused, or the new state, step and facts."""
    handler = _HANDLERS.get(type(command))
    if handler is None:
        return transitions.handle(state, command, actor, at)
    action = ACTION_OF[type(command)]
    allowed = allowed_actions(state)
    if state.status not in ACTIONS[action]:
        raise IllegalTransition(action, state.status, allowed)
    if action not in allowed:
        raise IllegalTransition(action, state.status, allowed, WAITING_FOR[action])
    return handler(state, command, actor, at)


def _review_return(state: CaseState, c: ReviewReturn, actor: Actor, at: datetime) -> Outcome:
    returned_by = state.return_review
    assert returned_by is not None
    reviewed = (
        CASE_RETURN_REVIEWED,
        CaseReturnReviewed(assignee=returned_by, approved=c.approve, note=c.note, by=actor.user),
    )
    reason = ("approved" if c.approve else "refused") + (f": {c.note}" if c.note else "")
    cleared = replace(state, return_review=None)
    if c.approve:
        return transitions._outcome(state, cleared, "review_return", actor, at, reason, reviewed)
    if c.back is None or c.back.assignee.code != returned_by.code:
        raise IllegalTransition(
            "review_return", state.status, allowed_actions(state),
            "a refused return goes back to the unit that returned it",
        )  # fmt: skip
    back = transitions._dispatch(cleared, c.back, actor, at)
    return Outcome(
        back.state,
        replace(back.step, action="review_return", from_status=state.status, reason=reason),
        [reviewed, *back.facts],
    )


def _appeal(state: CaseState, c: AppealRating, actor: Actor, at: datetime) -> Outcome:
    if not c.reason.strip():
        raise IllegalTransition("appeal", state.status, allowed_actions(state),
                                "a reason is required")  # fmt: skip
    unit, helper = transitions._acting_unit(state, actor, "appeal")
    if helper is not None:
        raise NotYourCase(f"{unit} helps on this case; only the lead unit can appeal")
    assert state.assignee is not None
    fact = RatingAppealed(assignee=state.assignee, reason=c.reason, by=actor.user)
    new = replace(state, appeal="pending")
    return transitions._outcome(
        state, new, "appeal", actor, at, c.reason, (CASE_RATING_APPEALED, fact)
    )


def _decide_appeal(state: CaseState, c: DecideAppeal, actor: Actor, at: datetime) -> Outcome:
    decided = (CASE_RATING_APPEAL_DECIDED,
               RatingAppealDecided(upheld=c.upheld, note=c.note, by=actor.user))  # fmt: skip
    reason = ("upheld" if c.upheld else "rejected") + (f": {c.note}" if c.note else "")
    if not c.upheld:
        new = replace(state, appeal="rejected")
        return transitions._outcome(state, new, "decide_appeal", actor, at, reason, decided)
    # the rework the rating caused is called off: nothing of this case is pending any more
    new = replace(state, status=S.CLOSED, appeal="upheld", satisfaction=None, extension=None)
    return transitions._outcome(state, new, "decide_appeal", actor, at, reason, decided)


_HANDLERS: dict[type, Callable[[CaseState, Any, Actor, datetime], Outcome]] = {
    ReviewReturn: _review_return,
    AppealRating: _appeal,
    DecideAppeal: _decide_appeal,
}
