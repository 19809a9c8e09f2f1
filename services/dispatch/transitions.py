"""What each lifecycle command does to a case: the new state, the history step and the facts
to publish, or a refusal naming the current status and what is allowed.

``handle(state, command, actor, at)`` is the lifecycle's one entry. No I/O, no clock:
everything it needs comes in the command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Final, Literal

from contracts.events import (
    CASE_ACCEPTED,
    CASE_AWAITING_DISPATCH,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_EXTENSION_DECIDED,
    CASE_EXTENSION_REQUESTED,
    CASE_FEEDBACK,
    CASE_MERGED,
    CASE_REOPENED,
    CASE_RESOLVED_ON_SITE,
    CASE_RETURNED,
    CASE_RISK_CHANGED,
    CASE_VERIFIED,
    CaseAccepted,
    CaseAwaitingDispatch,
    CaseClosed,
    CaseConcluded,
    CaseDispatched,
    CaseEscalated,
    CaseExtensionDecided,
    CaseExtensionRequested,
    CaseFeedback,
    CaseMerged,
    CaseReopened,
    CaseResolvedOnSite,
    CaseReturned,
    CaseRiskChanged,
    CaseVerified,
    EventData,
    EventSpec,
)
from kernel.levels import is_above
from services.dispatch import petitions
from services.dispatch.states import (
    ACTION_OF,
    ACTIONS,
    Accept,
    Acknowledge,
    Actor,
    Answer,
    AwaitDispatch,
    CaseState,
    Command,
    Conclude,
    ConcludeAtDesk,
    DecideExtension,
    Dispatch,
    Escalate,
    Feedback,
    Helper,
    IllegalTransition,
    Merge,
    NotYourCase,
    Outcome,
    PendingExtension,
    Regrade,
    RequestExtension,
    RequestReview,
    ResolveOnSite,
    Return,
    Revisit,
    Step,
    Verify,
    allowed_actions,
)
from services.dispatch.states import CaseStatus as S


def handle(state: CaseState, command: Command, actor: Actor, at: datetime) -> Outcome:
    action = ACTION_OF[type(command)]
    if state.status not in ACTIONS[action]:
        raise IllegalTransition(action, state.status, allowed_actions(state))
    handler: Callable[[CaseState, Any, Actor, datetime], Outcome] = _HANDLERS[type(command)]
    return handler(state, command, actor, at)


def _step(
    state: CaseState, new: CaseState, action: str, actor: Actor, at: datetime, reason: str | None
) -> Step:
    return Step(action, state.status, new.status, actor, at, reason)


def _outcome(
    state: CaseState,
    new: CaseState,
    action: str,
    actor: Actor,
    at: datetime,
    reason: str | None,
    *facts: tuple[EventSpec[Any], EventData],
) -> Outcome:
    return Outcome(new, _step(state, new, action, actor, at, reason), list(facts))


def _acting_unit(state: CaseState, actor: Actor, action: str) -> tuple[str, Helper | None]:
    """Lead or helper? Admins and the centre act on behalf of the lead unless they name one."""
    assert state.assignee is not None
    unit = actor.unit or state.assignee.code
    if unit == state.assignee.code:
        return unit, None
    for helper in state.helpers:
        if helper.unit.code == unit:
            return unit, helper
    raise NotYourCase(f"{unit} is neither the lead nor a helper of this case and cannot {action}")


def _with_helper(state: CaseState, changed: Helper) -> tuple[Helper, ...]:
    return tuple(changed if h.unit.code == changed.unit.code else h for h in state.helpers)


def _await(state: CaseState, c: AwaitDispatch, actor: Actor, at: datetime) -> Outcome:
    new = replace(
        state, status=S.PENDING_DISPATCH, suggestion=c.suggestion, alternatives=c.alternatives
    )
    fact = CaseAwaitingDispatch(
        reason=c.reason, suggestion=c.suggestion, alternatives=list(c.alternatives), risk=c.risk,
        territory=c.territory, summary=c.summary,
    )  # fmt: skip
    return _outcome(
        state, new, "await_dispatch", actor, at, c.reason, (CASE_AWAITING_DISPATCH, fact)
    )


def _dispatch(state: CaseState, c: Dispatch, actor: Actor, at: datetime) -> Outcome:
    if any(h.code == c.assignee.code for h in c.helpers):
        raise IllegalTransition(
            "dispatch",
            state.status,
            allowed_actions(state),
            "the lead unit cannot also be a helper",
        )
    if len({h.code for h in c.helpers}) != len(c.helpers):
        raise IllegalTransition(
            "dispatch", state.status, allowed_actions(state), "a helper is named twice"
        )
    new = replace(
        state,
        status=S.DISPATCHED,
        assignee=c.assignee,
        level=c.level,
        deadlines=petitions.with_clocks(c.deadlines, state.petition),
        helpers=tuple(Helper(unit) for unit in c.helpers),
        extension=None,
        verified=False,
        return_review=None,  # dispatched elsewhere: the return counts as it was
        appeal=None,
    )
    assert new.deadlines is not None
    fact = CaseDispatched(
        assignee=c.assignee,
        level=c.level,
        deadlines=new.deadlines,
        dispatched_by=actor.user,
        category=c.category,
        rule=c.rule,
        channel=c.channel,
        risk=c.risk,
        helpers=list(c.helpers),
        territory=c.territory,
        summary=c.summary,
    )
    return _outcome(state, new, "dispatch", actor, at, c.rule, (CASE_DISPATCHED, fact))


def _accept(state: CaseState, c: Accept, actor: Actor, at: datetime) -> Outcome:
    unit, helper = _acting_unit(state, actor, "accept")
    if helper is not None:
        if helper.accepted:
            raise IllegalTransition(
                "accept", state.status, allowed_actions(state), f"{unit} has signed already"
            )
        new = replace(state, helpers=_with_helper(state, replace(helper, accepted=True)))
        fact = CaseAccepted(assignee=helper.unit, by=actor.user, role="assist")
    else:
        if state.status is not S.DISPATCHED:
            raise IllegalTransition(
                "accept", state.status, allowed_actions(state), "the lead unit has signed already"
            )
        new = replace(state, status=S.ACCEPTED)
        assert state.assignee is not None
        fact = CaseAccepted(assignee=state.assignee, by=actor.user, role="lead")
    return _outcome(state, new, "accept", actor, at, unit, (CASE_ACCEPTED, fact))


def _return(state: CaseState, c: Return, actor: Actor, at: datetime) -> Outcome:
    if not c.reason.strip():
        raise IllegalTransition(
            "return", state.status, allowed_actions(state), "a reason is required"
        )
    unit, helper = _acting_unit(state, actor, "return")
    if helper is not None:
        raise NotYourCase(f"{unit} helps on this case; only the lead unit can return it")
    assert state.assignee is not None
    new = replace(
        state,
        status=S.PENDING_DISPATCH,
        assignee=None,
        helpers=(),
        deadlines=None,
        returns=state.returns + 1,
        suggestion=None,
        extension=None,
        return_review=state.assignee,  # 退单审核: the centre checks it
    )
    fact = CaseReturned(assignee=state.assignee, reason=c.reason, by=actor.user)
    return _outcome(state, new, "return", actor, at, c.reason, (CASE_RETURNED, fact))


def _feedback(state: CaseState, c: Feedback, actor: Actor, at: datetime) -> Outcome:
    if not c.note.strip():
        raise IllegalTransition(
            "feedback", state.status, allowed_actions(state), "the feedback is empty"
        )
    unit, helper = _acting_unit(state, actor, "feed back on")
    if helper is not None and not helper.accepted:
        raise IllegalTransition(
            "feedback", state.status, allowed_actions(state), f"{unit} has not signed for its part"
        )
    new = replace(state, status=S.IN_PROGRESS)
    return _outcome(
        state,
        new,
        "feedback",
        actor,
        at,
        c.note,
        (CASE_FEEDBACK, CaseFeedback(note=c.note, by=actor.user)),
    )


def _conclude(state: CaseState, c: Conclude, actor: Actor, at: datetime) -> Outcome:
    if not c.result.strip():
        raise IllegalTransition(
            "conclude", state.status, allowed_actions(state), "the result is empty"
        )
    unit, helper = _acting_unit(state, actor, "conclude")
    if helper is not None:
        if not helper.accepted:
            raise IllegalTransition(
                "conclude",
                state.status,
                allowed_actions(state),
                f"{unit} has not signed for its part",
            )
        if helper.concluded:
            raise IllegalTransition(
                "conclude", state.status, allowed_actions(state),
                f"{unit} has reported its part already",
            )  # fmt: skip
        new = replace(state, helpers=_with_helper(state, replace(helper, concluded=True)))
        return _outcome(state, new, "conclude_part", actor, at, c.result)
    if state.petition is not None:
        raise IllegalTransition(
            "conclude", state.status, allowed_actions(state),
            "a petition is concluded by its written answer (answer)",
        )  # fmt: skip
    waiting = [h.unit.name for h in state.helpers if not h.concluded]
    if waiting:
        raise IllegalTransition(
            "conclude",
            state.status,
            allowed_actions(state),
            f"helpers have not reported their part: {'、'.join(waiting)}",
        )
    new = replace(state, status=S.CONCLUDED, extension=None)
    concluded = CaseConcluded(result=c.result, by=actor.user, revisit=c.revisit)
    return _outcome(state, new, "conclude", actor, at, c.result, (CASE_CONCLUDED, concluded))


def _conclude_at_desk(state: CaseState, c: ConcludeAtDesk, actor: Actor, at: datetime) -> Outcome:
    """直办: concluded as it was received, by whoever registered it; no unit ever held it."""
    if not c.result.strip():
        raise IllegalTransition(
            "conclude_at_desk", state.status, allowed_actions(state), "the result is empty"
        )
    new = replace(state, status=S.CONCLUDED)
    concluded = CaseConcluded(result=c.result, by=actor.user, at_desk=True, revisit=c.revisit)
    return _outcome(
        state, new, "conclude_at_desk", actor, at, c.result, (CASE_CONCLUDED, concluded)
    )


def _reopen(
    state: CaseState,
    action: str,
    reason: str,
    actor: Actor,
    at: datetime,
    *extra: tuple[EventSpec[Any], EventData],
    satisfaction: Literal["unsatisfied"] | None = None,
) -> Outcome:
    # a case no unit ever held (直办) has no one to work it again: it waits for one click
    back = S.IN_PROGRESS if state.assignee is not None else S.PENDING_DISPATCH
    new = replace(
        state,
        status=back,
        verified=False,
        reopens=state.reopens + 1,
        helpers=tuple(replace(h, concluded=False) for h in state.helpers),
    )
    reopened = (
        CASE_REOPENED,
        CaseReopened(reason=reason, by=actor.user, satisfaction=satisfaction),
    )
    return _outcome(state, new, action, actor, at, reason, *extra, reopened)


def _verify(state: CaseState, c: Verify, actor: Actor, at: datetime) -> Outcome:
    verified = (CASE_VERIFIED, CaseVerified(passed=c.passed, note=c.note, by=actor.user))
    if not c.passed:
        return _reopen(state, "verify", c.note or "核查未通过", actor, at, verified)
    return _outcome(state, replace(state, verified=True), "verify", actor, at, c.note, verified)


def _regrade(state: CaseState, c: Regrade, actor: Actor, at: datetime) -> Outcome:
    if c.risk == state.risk:
        why = f"the risk is {state.risk} already"
        raise IllegalTransition("regrade", state.status, allowed_actions(state), why)
    changed = CaseRiskChanged.model_validate(
        {"from": state.risk, "to": c.risk, "reason": c.reason, "by": actor.user}
    )
    new = replace(state, risk=c.risk)
    return _outcome(state, new, "regrade", actor, at, c.reason, (CASE_RISK_CHANGED, changed))


def _revisit(state: CaseState, c: Revisit, actor: Actor, at: datetime) -> Outcome:
    if c.satisfaction == "unsatisfied":
        return _reopen(
            replace(state, satisfaction=c.satisfaction, appeal=None),  # a new rating
            "revisit",
            c.note or "回访不满意",
            actor,
            at,
            satisfaction="unsatisfied",
        )
    new = replace(state, status=S.CLOSED, satisfaction=c.satisfaction, appeal=None)
    closed = CaseClosed(satisfaction=c.satisfaction, by=actor.user)
    return _outcome(
        state, new, "revisit", actor, at, c.note or c.satisfaction, (CASE_CLOSED, closed)
    )


def _escalate(state: CaseState, c: Escalate, actor: Actor, at: datetime) -> Outcome:
    if not c.reason.strip():
        raise IllegalTransition(
            "escalate", state.status, allowed_actions(state), "a reason is required"
        )
    if not is_above(c.to_level, state.level):
        raise IllegalTransition(
            "escalate",
            state.status,
            allowed_actions(state),
            f"{c.to_level} is not above {state.level}",
        )
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
        return_review=None,
    )
    fact = CaseEscalated(
        from_level=state.level,
        to_level=c.to_level,
        unit=c.unit,
        reason=c.reason,
        supervisors=list(c.supervisors),
        by=actor.user,
    )
    return _outcome(state, new, "escalate", actor, at, c.reason, (CASE_ESCALATED, fact))


def _extend(state: CaseState, c: RequestExtension, actor: Actor, at: datetime) -> Outcome:
    unit, helper = _acting_unit(state, actor, "ask an extension for")
    problem = (
        "a reason is required"
        if not c.reason.strip()
        else "an extension is pending already"
        if state.extension is not None
        else "the new time must be after the current limit"
        if state.deadlines is not None and c.until <= _limit_extended(state)
        else None
    )
    if helper is not None:
        problem = problem or "only the lead unit asks for an extension"
    if problem:
        raise IllegalTransition("extend", state.status, allowed_actions(state), problem)
    new = replace(state, extension=PendingExtension(c.until, c.reason, actor.user, unit))
    fact = CaseExtensionRequested(until=c.until, reason=c.reason, by=actor.user)
    return _outcome(state, new, "extend", actor, at, c.reason, (CASE_EXTENSION_REQUESTED, fact))


def _limit_extended(state: CaseState) -> datetime:
    """The limit an extension moves: a petition's answer (信访), else the resolve limit."""
    assert state.deadlines is not None
    if state.petition is not None:
        return state.petition.answer_by
    return state.deadlines.resolve_by


UNIT_WORKERS: Final = frozenset({"handler", "grid_worker", "operator"})
"""Roles that may ask for an extension (or register one) but never decide it."""


def _decide_extension(state: CaseState, c: DecideExtension, actor: Actor, at: datetime) -> Outcome:
    if state.extension is None:
        raise IllegalTransition(
            "decide_extension", state.status, allowed_actions(state), "no extension is pending"
        )
    if actor.role in UNIT_WORKERS:  # 延期: the unit asks, a supervisor approves
        raise IllegalTransition(
            "decide_extension", state.status, allowed_actions(state),
            "only a supervisor decides an extension",
        )  # fmt: skip
    deadlines, clocks = state.deadlines, state.petition
    if c.approve:
        deadlines, clocks = petitions.extension_approved(state, state.extension.until)
    new = replace(state, extension=None, deadlines=deadlines, petition=clocks)
    fact = CaseExtensionDecided(
        approved=c.approve,
        until=state.extension.until,
        deadlines=deadlines,
        note=c.note,
        by=actor.user,
    )
    reason = ("批准延期" if c.approve else "驳回延期") + (f"：{c.note}" if c.note else "")
    return _outcome(
        state, new, "decide_extension", actor, at, reason, (CASE_EXTENSION_DECIDED, fact)
    )


def _resolve_on_site(state: CaseState, c: ResolveOnSite, actor: Actor, at: datetime) -> Outcome:
    new = replace(state, status=S.RESOLVED_ON_SITE)
    fact = CaseResolvedOnSite(note=c.note, by=actor.user, grid=c.grid, territory=c.territory)
    return _outcome(state, new, "resolve_on_site", actor, at, c.note, (CASE_RESOLVED_ON_SITE, fact))


def _merge(state: CaseState, c: Merge, actor: Actor, at: datetime) -> Outcome:
    # followed on the other case from now on: nothing of this one stays pending
    new = replace(state, status=S.MERGED, merged_into=c.into, extension=None, return_review=None)
    fact = CaseMerged(into=c.into, by=actor.user)
    return _outcome(state, new, "merge", actor, at, f"duplicate of {c.into}", (CASE_MERGED, fact))


_HANDLERS: dict[type, Callable[..., Outcome]] = {
    AwaitDispatch: _await,
    Dispatch: _dispatch,
    Accept: _accept,
    Return: _return,
    Feedback: _feedback,
    Conclude: _conclude,
    ConcludeAtDesk: _conclude_at_desk,
    Verify: _verify,
    Regrade: _regrade,
    Revisit: _revisit,
    Escalate: _escalate,
    RequestExtension: _extend,
    DecideExtension: _decide_extension,
    ResolveOnSite: _resolve_on_site,
    Merge: _merge,
    Acknowledge: petitions.acknowledge,
    Answer: petitions.answer,
    RequestReview: petitions.request_review,
}
