"""The case lifecycle (接 转 见 办 结 访) as a pure state machine.

``handle(state, command, at)`` either refuses the command (``IllegalTransition``, naming the
current status and what is allowed) or returns the new state, the history step and the facts
to publish. No I/O, no clock: everything it needs comes in the command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from contracts.common import Channel, RiskGrade
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
    CASE_VERIFIED,
    Assignee,
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
    CaseVerified,
    Deadlines,
    EventData,
    EventSpec,
    Level,
    Territory,
)
from kernel.levels import is_above


class CaseStatus(StrEnum):
    RECEIVED = "received"  # 接
    PENDING_DISPATCH = "pending_dispatch"  # 转: waits for one click
    DISPATCHED = "dispatched"  # 转
    ACCEPTED = "accepted"  # 见: signed for
    IN_PROGRESS = "in_progress"  # 办
    CONCLUDED = "concluded"  # 结
    CLOSED = "closed"  # 访
    RESOLVED_ON_SITE = "resolved_on_site"  # 就地化解
    MERGED = "merged"


S = CaseStatus
OPEN = frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS})
BEFORE_DISPATCH = frozenset({S.RECEIVED, S.PENDING_DISPATCH})


class LifecycleError(Exception):
    """Base of the lifecycle's refusals."""


class IllegalTransition(LifecycleError):
    def __init__(self, action: str, status: CaseStatus, allowed: list[str], why: str = "") -> None:
        self.action = action
        self.status = status
        self.allowed = allowed
        detail = f": {why}" if why else ""
        super().__init__(
            f"cannot {action} a case that is {status}{detail}; allowed now: {allowed or 'nothing'}"
        )


class NotYourCase(LifecycleError):
    """The unit acting is neither the lead nor a helper of this case."""


# --- state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Helper:
    """A 协办 unit: signs for its part and reports it done on its own."""

    unit: Assignee
    accepted: bool = False
    concluded: bool = False


@dataclass(frozen=True)
class PendingExtension:
    until: datetime
    reason: str
    by: str
    unit: str


@dataclass(frozen=True)
class CaseState:
    status: CaseStatus
    level: Level
    assignee: Assignee | None = None
    helpers: tuple[Helper, ...] = ()
    suggestion: Assignee | None = None
    alternatives: tuple[Assignee, ...] = ()
    deadlines: Deadlines | None = None
    extension: PendingExtension | None = None
    verified: bool = False
    returns: int = 0
    reopens: int = 0
    merged_into: str | None = None
    satisfaction: str | None = None


# --- commands (imperative) ---------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who acts, in what role, on behalf of which unit (a department or grid code)."""

    user: str
    role: str = "system"
    unit: str | None = None


@dataclass(frozen=True)
class AwaitDispatch:
    reason: str
    suggestion: Assignee | None
    alternatives: tuple[Assignee, ...] = ()
    risk: RiskGrade = "blue"
    territory: Territory = field(default_factory=dict)
    summary: str | None = None


@dataclass(frozen=True)
class Dispatch:
    assignee: Assignee
    level: Level
    deadlines: Deadlines
    helpers: tuple[Assignee, ...] = ()
    rule: str | None = None
    category: str | None = None
    channel: Channel | None = None
    risk: RiskGrade = "blue"
    territory: Territory = field(default_factory=dict)
    summary: str | None = None


@dataclass(frozen=True)
class Accept:
    pass


@dataclass(frozen=True)
class Return:
    reason: str


@dataclass(frozen=True)
class Feedback:
    note: str


@dataclass(frozen=True)
class Conclude:
    result: str


@dataclass(frozen=True)
class Verify:
    passed: bool
    note: str = ""


@dataclass(frozen=True)
class Revisit:
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    note: str = ""


@dataclass(frozen=True)
class Escalate:
    to_level: Level
    reason: str
    suggestion: Assignee | None = None
    unit: str | None = None
    supervisors: tuple[str, ...] = ()


@dataclass(frozen=True)
class RequestExtension:
    until: datetime
    reason: str


@dataclass(frozen=True)
class DecideExtension:
    approve: bool
    note: str = ""


@dataclass(frozen=True)
class ResolveOnSite:
    note: str


@dataclass(frozen=True)
class Merge:
    into: str


Command = (
    AwaitDispatch
    | Dispatch
    | Accept
    | Return
    | Feedback
    | Conclude
    | Verify
    | Revisit
    | Escalate
    | RequestExtension
    | DecideExtension
    | ResolveOnSite
    | Merge
)


# --- outcome -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One history row."""

    action: str
    from_status: CaseStatus
    to_status: CaseStatus
    actor: Actor
    at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Outcome:
    state: CaseState
    step: Step
    facts: list[tuple[EventSpec[Any], EventData]] = field(default_factory=list)


ACTIONS: dict[str, frozenset[CaseStatus]] = {
    "await_dispatch": frozenset({S.RECEIVED}),
    "dispatch": BEFORE_DISPATCH,
    "accept": frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS}),
    "return": frozenset({S.DISPATCHED, S.ACCEPTED}),
    "feedback": frozenset({S.ACCEPTED, S.IN_PROGRESS}),
    "conclude": frozenset({S.ACCEPTED, S.IN_PROGRESS}),
    "verify": frozenset({S.CONCLUDED}),
    "revisit": frozenset({S.CONCLUDED}),
    "escalate": frozenset({S.PENDING_DISPATCH}) | OPEN,
    "extend": OPEN,
    "decide_extension": OPEN,
    "resolve_on_site": BEFORE_DISPATCH,
    "merge": BEFORE_DISPATCH | {S.DISPATCHED},
}
"""Action → the statuses it may start from. The target status depends on the action's data
(a helper's sign-off leaves the case where it is; an unsatisfied revisit reopens it)."""

ACTION_OF: dict[type, str] = {
    AwaitDispatch: "await_dispatch",
    Dispatch: "dispatch",
    Accept: "accept",
    Return: "return",
    Feedback: "feedback",
    Conclude: "conclude",
    Verify: "verify",
    Revisit: "revisit",
    Escalate: "escalate",
    RequestExtension: "extend",
    DecideExtension: "decide_extension",
    ResolveOnSite: "resolve_on_site",
    Merge: "merge",
}


def allowed_actions(state: CaseState) -> list[str]:
    allowed = [action for action, sources in ACTIONS.items() if state.status in sources]
    if state.extension is None:
        allowed = [a for a in allowed if a != "decide_extension"]
    return allowed


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
        deadlines=c.deadlines,
        helpers=tuple(Helper(unit) for unit in c.helpers),
        extension=None,
        verified=False,
    )
    fact = CaseDispatched(
        assignee=c.assignee,
        level=c.level,
        deadlines=c.deadlines,
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
    waiting = [h.unit.name for h in state.helpers if not h.concluded]
    if waiting:
        raise IllegalTransition(
            "conclude",
            state.status,
            allowed_actions(state),
            f"helpers have not reported their part: {'、'.join(waiting)}",
        )
    new = replace(state, status=S.CONCLUDED, extension=None)
    return _outcome(
        state,
        new,
        "conclude",
        actor,
        at,
        c.result,
        (CASE_CONCLUDED, CaseConcluded(result=c.result, by=actor.user)),
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
    new = replace(
        state,
        status=S.IN_PROGRESS,
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


def _revisit(state: CaseState, c: Revisit, actor: Actor, at: datetime) -> Outcome:
    if c.satisfaction == "unsatisfied":
        return _reopen(
            replace(state, satisfaction=c.satisfaction),
            "revisit",
            c.note or "回访不满意",
            actor,
            at,
            satisfaction="unsatisfied",
        )
    new = replace(state, status=S.CLOSED, satisfaction=c.satisfaction)
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
        if state.deadlines is not None and c.until <= state.deadlines.resolve_by
        else None
    )
    if helper is not None:
        problem = problem or "only the lead unit asks for an extension"
    if problem:
        raise IllegalTransition("extend", state.status, allowed_actions(state), problem)
    new = replace(state, extension=PendingExtension(c.until, c.reason, actor.user, unit))
    fact = CaseExtensionRequested(until=c.until, reason=c.reason, by=actor.user)
    return _outcome(state, new, "extend", actor, at, c.reason, (CASE_EXTENSION_REQUESTED, fact))


def _decide_extension(state: CaseState, c: DecideExtension, actor: Actor, at: datetime) -> Outcome:
    if state.extension is None:
        raise IllegalTransition(
            "decide_extension", state.status, allowed_actions(state), "no extension is pending"
        )
    deadlines = state.deadlines
    if c.approve and deadlines is not None:
        deadlines = deadlines.model_copy(update={"resolve_by": state.extension.until})
    new = replace(state, extension=None, deadlines=deadlines)
    fact = CaseExtensionDecided(
        approved=c.approve,
        until=state.extension.until,
        deadlines=deadlines,
        note=c.note,
        by=actor.user,
    )
    reason = ("approved" if c.approve else "refused") + (f": {c.note}" if c.note else "")
    return _outcome(
        state, new, "decide_extension", actor, at, reason, (CASE_EXTENSION_DECIDED, fact)
    )


def _resolve_on_site(state: CaseState, c: ResolveOnSite, actor: Actor, at: datetime) -> Outcome:
    new = replace(state, status=S.RESOLVED_ON_SITE)
    fact = CaseResolvedOnSite(note=c.note, by=actor.user)
    return _outcome(state, new, "resolve_on_site", actor, at, c.note, (CASE_RESOLVED_ON_SITE, fact))


def _merge(state: CaseState, c: Merge, actor: Actor, at: datetime) -> Outcome:
    # followed on the other case from now on: nothing of this one stays pending
    new = replace(state, status=S.MERGED, merged_into=c.into, extension=None)
    fact = CaseMerged(into=c.into, by=actor.user)
    return _outcome(state, new, "merge", actor, at, f"duplicate of {c.into}", (CASE_MERGED, fact))


_HANDLERS: dict[type, Callable[..., Outcome]] = {
    AwaitDispatch: _await,
    Dispatch: _dispatch,
    Accept: _accept,
    Return: _return,
    Feedback: _feedback,
    Conclude: _conclude,
    Verify: _verify,
    Revisit: _revisit,
    Escalate: _escalate,
    RequestExtension: _extend,
    DecideExtension: _decide_extension,
    ResolveOnSite: _resolve_on_site,
    Merge: _merge,
}
