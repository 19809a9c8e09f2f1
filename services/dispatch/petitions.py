"""信访: the petition line's steps of the lifecycle (受理告知, 书面答复, 复查 and 复核), and what
its clocks do to the deadlines of a dispatch and an extension.

Pure, as ``transitions``: the petition's clocks come computed in the command
(``kernel.petition``); here they are checked against the case and written into its state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from contracts.events import (
    CASE_CONCLUDED,
    PETITION_ACKNOWLEDGED,
    PETITION_ANSWERED,
    PETITION_REVIEW_REQUESTED,
    CaseConcluded,
    Deadlines,
    PetitionAcknowledged,
    PetitionAnswered,
    PetitionReviewRequested,
)
from kernel.levels import is_above
from kernel.petition import PetitionClocks
from services.dispatch.states import (
    Acknowledge,
    Actor,
    Answer,
    CaseState,
    IllegalTransition,
    Outcome,
    RequestReview,
    Step,
    allowed_actions,
)
from services.dispatch.states import CaseStatus as S


def with_clocks(deadlines: Deadlines | None, clocks: PetitionClocks | None) -> Deadlines | None:
    """A petition's deadlines also hold its own: 受理告知 while it is due, and the answer."""
    if deadlines is None or clocks is None:
        return deadlines
    return deadlines.model_copy(
        update={"acknowledge_by": clocks.acknowledge_by, "answer_by": clocks.answer_by}
    )


def _refuse(action: str, state: CaseState, why: str) -> IllegalTransition:
    return IllegalTransition(action, state.status, allowed_actions(state), why)


def _petition(action: str, state: CaseState) -> PetitionClocks:
    if state.petition is None:
        raise _refuse(action, state, "only a petition (信访) takes this step")
    return state.petition


def _lead_only(action: str, state: CaseState, actor: Actor) -> None:
    if actor.unit is not None and state.assignee is not None and actor.unit != state.assignee.code:
        raise _refuse(action, state, "only the lead unit takes this step")


def acknowledge(state: CaseState, c: Acknowledge, actor: Actor, at: datetime) -> Outcome:
    """受理告知: the answer now runs from today."""
    clocks = _petition("acknowledge", state)
    _lead_only("acknowledge", state, actor)
    if clocks.accepted_at is not None:
        raise _refuse("acknowledge", state, "the petition was accepted already")
    new = replace(state, petition=c.clocks, deadlines=with_clocks(state.deadlines, c.clocks))
    fact = PetitionAcknowledged(answer_by=c.clocks.answer_by, by=actor.user, note=c.note)
    step = Step("acknowledge", state.status, new.status, actor, at, c.note or "受理告知")
    return Outcome(new, step, [(PETITION_ACKNOWLEDGED, fact)])


def answer(state: CaseState, c: Answer, actor: Actor, at: datetime) -> Outcome:
    """The written answer concludes the stage: the case is concluded as any other (revisited,
    closed), and the next review may be asked until ``review_asked_by``."""
    clocks = _petition("answer", state)
    _lead_only("answer", state, actor)
    if clocks.stage == "handling" and clocks.accepted_at is None:
        raise _refuse("answer", state, "the petition has not been accepted (受理告知) yet")
    waiting = [h.unit.name for h in state.helpers if not h.concluded]
    if waiting:
        raise _refuse(
            "answer", state, f"helpers have not reported their part: {'、'.join(waiting)}"
        )
    new = replace(state, status=S.CONCLUDED, extension=None, petition=c.clocks)
    answered = PetitionAnswered(
        stage=c.clocks.stage, by=actor.user, review_asked_by=c.clocks.review_asked_by
    )
    concluded = CaseConcluded(result=c.opinion, by=actor.user, revisit=c.revisit)
    step = Step("answer", state.status, new.status, actor, at, c.opinion)
    return Outcome(new, step, [(PETITION_ANSWERED, answered), (CASE_CONCLUDED, concluded)])


def request_review(state: CaseState, c: RequestReview, actor: Actor, at: datetime) -> Outcome:
    """复查 / 复核: the level above the one that answered takes the case, to be dispatched
    there; the new stage's answer is due in 30 days."""
    _petition("request_review", state)
    if c.to_level != state.level and not is_above(c.to_level, state.level):
        raise _refuse("request_review", state, f"{c.to_level} is not above {state.level}")
    new = replace(
        state,
        status=S.PENDING_DISPATCH,
        level=c.to_level,
        assignee=None,
        helpers=(),
        deadlines=None,
        suggestion=c.suggestion,
        alternatives=(),
        extension=None,
        verified=False,
        satisfaction=None,
        petition=c.clocks,
    )
    fact = PetitionReviewRequested(
        stage=c.clocks.stage, reason=c.reason, to_level=c.to_level,
        answer_by=c.clocks.answer_by, by=actor.user,
    )  # fmt: skip
    step = Step("request_review", state.status, new.status, actor, at, c.reason)
    return Outcome(new, step, [(PETITION_REVIEW_REQUESTED, fact)])


def extension_approved(
    state: CaseState, until: datetime
) -> tuple[Deadlines | None, PetitionClocks | None]:
    """An approved extension moves the resolve limit and, for a petition, its answer's (once)."""
    clocks = state.petition
    if clocks is not None:
        clocks = replace(clocks, answer_by=until, extended=True)
    deadlines = state.deadlines
    if deadlines is not None:
        deadlines = with_clocks(deadlines.model_copy(update={"resolve_by": until}), clocks)
    return deadlines, clocks
