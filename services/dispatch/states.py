"""The lifecycle's vocabulary (接 转 见 办 结 访): the statuses, the state of a case, the
commands that change it, the outcome of one, and which action may start from which status.

Pure data; what each command does is in ``transitions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from contracts.common import Channel, RiskGrade
from contracts.event_data import RevisitBy
from contracts.events import Assignee, Deadlines, EventData, EventSpec, Level, Territory
from kernel.petition import PetitionClocks


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


AppealState = Literal["pending", "upheld", "rejected"]


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
    return_review: Assignee | None = None
    """退单审核: the unit whose return waits for the centre's check."""
    appeal: AppealState | None = None
    """不满意甄别 of the current "unsatisfied": pending, upheld or rejected."""
    petition: PetitionClocks | None = None
    """信访 only: where the petition stands against the law's clocks."""
    risk: RiskGrade = "blue"
    """The risk as graded at intake, or regraded since by a person (调整风险等级)."""


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
    revisit: RevisitBy | None = None
    """How the citizen will be revisited, told with the conclusion (``phone``: 待回访)."""


@dataclass(frozen=True)
class ConcludeAtDesk:
    """直办: the centre's desk solved the matter as it registered it; nothing to dispatch."""

    result: str
    revisit: RevisitBy | None = None


@dataclass(frozen=True)
class Regrade:
    """调整风险等级: the risk graded anew by a person, and why."""

    risk: RiskGrade
    reason: str


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
    grid: Assignee | None = None
    territory: Territory = field(default_factory=dict)


@dataclass(frozen=True)
class Merge:
    into: str


@dataclass(frozen=True)
class ReviewReturn:
    """退单审核. ``back`` is the dispatch to the unit that returned it, carried out when the
    return is refused."""

    approve: bool
    back: Dispatch | None = None
    note: str = ""


@dataclass(frozen=True)
class Acknowledge:
    """受理告知: ``clocks`` as acceptance leaves them (``kernel.petition``)."""

    clocks: PetitionClocks
    note: str = ""


@dataclass(frozen=True)
class AppealRating:
    """不满意甄别: the unit contests the "unsatisfied"."""

    reason: str


@dataclass(frozen=True)
class DecideAppeal:
    upheld: bool
    note: str = ""


@dataclass(frozen=True)
class Answer:
    """The stage's written answer; ``clocks`` as it leaves them."""

    opinion: str
    clocks: PetitionClocks
    revisit: RevisitBy | None = None


@dataclass(frozen=True)
class RequestReview:
    """复查 or 复核 asked in time: to ``to_level``; ``clocks`` of the new stage."""

    reason: str
    clocks: PetitionClocks
    to_level: Level
    suggestion: Assignee | None = None


Command = (
    AwaitDispatch
    | Dispatch
    | Accept
    | Return
    | Feedback
    | Conclude
    | ConcludeAtDesk
    | Verify
    | Revisit
    | Escalate
    | RequestExtension
    | DecideExtension
    | ResolveOnSite
    | Merge
    | ReviewReturn
    | AppealRating
    | DecideAppeal
    | Acknowledge
    | Answer
    | RequestReview
    | Regrade
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
    "conclude_at_desk": frozenset({S.RECEIVED}),
    "verify": frozenset({S.CONCLUDED}),
    # 抽查回访: an on-site resolution drawn for a spot check is revisited as a conclusion is
    "revisit": frozenset({S.CONCLUDED, S.RESOLVED_ON_SITE}),
    "escalate": frozenset({S.PENDING_DISPATCH}) | OPEN,
    "extend": OPEN,
    "decide_extension": OPEN,
    "resolve_on_site": BEFORE_DISPATCH,
    "merge": BEFORE_DISPATCH | {S.DISPATCHED},
    "review_return": frozenset({S.PENDING_DISPATCH}),
    "appeal": OPEN | {S.CONCLUDED},
    "decide_appeal": OPEN | {S.CONCLUDED},
    "acknowledge": OPEN,
    "answer": frozenset({S.ACCEPTED, S.IN_PROGRESS}),
    "request_review": frozenset({S.CONCLUDED, S.CLOSED}),
    "regrade": BEFORE_DISPATCH | OPEN | {S.CONCLUDED},
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
    ConcludeAtDesk: "conclude_at_desk",
    Verify: "verify",
    Revisit: "revisit",
    Escalate: "escalate",
    RequestExtension: "extend",
    DecideExtension: "decide_extension",
    ResolveOnSite: "resolve_on_site",
    Merge: "merge",
    ReviewReturn: "review_return",
    AppealRating: "appeal",
    DecideAppeal: "decide_appeal",
    Acknowledge: "acknowledge",
    Answer: "answer",
    RequestReview: "request_review",
    Regrade: "regrade",
}

PETITION_ACTIONS: frozenset[str] = frozenset({"acknowledge", "answer", "request_review"})
"""Actions of the petition line alone (信访工作条例)."""


def allowed_actions(state: CaseState) -> list[str]:
    allowed = [action for action, sources in ACTIONS.items() if state.status in sources]
    waiting = {
        "decide_extension": state.extension is not None,
        "review_return": state.return_review is not None,
        # one appeal per "unsatisfied": a later revisit's answer may be appealed again
        "appeal": state.satisfaction == "unsatisfied" and state.appeal is None,
        "decide_appeal": state.appeal == "pending",
    }
    allowed = [a for a in allowed if waiting.get(a, True)]
    petition = state.petition
    if petition is None:
        return [a for a in allowed if a not in PETITION_ACTIONS]
    if petition.accepted_at is not None:
        allowed = [a for a in allowed if a != "acknowledge"]
    if petition.stage == "handling" and petition.accepted_at is None:
        allowed = [a for a in allowed if a != "answer"]
    # a petition's lead unit answers in writing: its conclusion is the answer
    allowed = [a for a in allowed if a != "conclude"]
    if petition.review_asked_by is None:
        allowed = [a for a in allowed if a != "request_review"]
    return allowed
