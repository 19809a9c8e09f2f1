"""What dispatch is asked to do (``ActOnCase``, ``DispatchMany``, each handled by a function of
``handlers``), and from a lifecycle action (``contracts.actions``, what the console sends) to a
lifecycle command.

Pure: whatever must be looked up (the catalogue, the duty list at the next level, the SLA
policy) is handed in. The action's own fields are checked by its model; what only the case
can tell (an assignee that is not a department, no suggestion to take) raises ``BadCommand``
naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from contracts.actions import (
    AcceptAction,
    AcknowledgeAction,
    AnswerAction,
    AppealAction,
    ConcludeAction,
    DecideAppealAction,
    DispatchAction,
    EscalateAction,
    ExtendAction,
    FeedbackAction,
    LifecycleAction,
    MergeAction,
    RegradeAction,
    RequestReviewAction,
    ResolveOnSiteAction,
    ReturnAction,
    ReviewReturnAction,
    RevisitAction,
    VerifyAction,
)
from contracts.event_data import RevisitBy
from contracts.events import Assignee, Level, Territory
from contracts.rpc import DepartmentDuty, GridUnit
from kernel.petition import PetitionClocks, PetitionPlan, PetitionRefused
from kernel.sla import SlaPolicy
from services.dispatch import lifecycle as lc
from services.dispatch.domain import RoutingTable

T = TypeVar("T")


class BadCommand(ValueError):
    """The parameters of an action are missing or wrong; the message names the field."""


@dataclass(frozen=True)
class ActOnCase:
    """Carry out one lifecycle action on a case. The same ``command_id`` again changes
    nothing; an ``expected_version`` the case has left behind is refused."""

    case_id: str
    action: LifecycleAction
    actor: lc.Actor
    command_id: str | None = None


@dataclass(frozen=True)
class DispatchMany:
    """Batch one click (一键派单): each case takes its suggestion."""

    case_ids: Sequence[str]
    actor: lc.Actor
    command_id: str | None = None


@dataclass(frozen=True)
class CaseFacts:
    """What a command may need to know of the case besides its lifecycle state."""

    case_id: str
    category: str | None
    channel: Any
    risk: Any
    rule: str | None
    resolve: timedelta | None
    place: Sequence[GridUnit]
    proposed_helpers: Sequence[Assignee]
    summary: str | None = None
    revisit: RevisitBy | None = None
    """How the citizen will be revisited once the case is concluded."""

    @property
    def territory(self) -> Territory:
        return {unit.level: unit.code for unit in self.place}


def assignee_for(code: str, facts: CaseFacts, table: RoutingTable) -> tuple[Assignee, Level]:
    """A department by its code, or the case's own grid (or micro-grid) by its code."""
    department = table.departments.get(code)
    if department is not None:
        return department.as_assignee(), department.level
    for unit in facts.place:
        if unit.code == code and unit.level in ("grid", "micro_grid"):
            return Assignee(kind="grid", code=unit.code, name=unit.name), unit.level
    raise BadCommand(f"assignee: {code!r} is neither a department nor this case's grid")


def on_site(note: str, facts: CaseFacts) -> lc.ResolveOnSite:
    """就地化解, credited to the case's grid (its micro-grid when it lies in no grid)."""
    units = {unit.level: unit for unit in facts.place if unit.level in ("grid", "micro_grid")}
    unit = units.get("grid") or units.get("micro_grid")
    grid = Assignee(kind="grid", code=unit.code, name=unit.name) if unit else None
    return lc.ResolveOnSite(note, grid, facts.territory)


def parse(
    action: LifecycleAction,
    state: lc.CaseState,
    facts: CaseFacts,
    table: RoutingTable,
    sla: SlaPolicy,
    now: datetime,
    duties_above: Sequence[DepartmentDuty] = (),
) -> lc.Command:
    """The lifecycle command an action asks for, given what it needs of the case."""
    match action:
        case DispatchAction():
            return _dispatch(action, state, facts, table, sla, now)
        case AcceptAction():
            return lc.Accept()
        case ReturnAction():
            return lc.Return(action.reason)
        case FeedbackAction():
            return lc.Feedback(action.note)
        case ConcludeAction():
            return lc.Conclude(action.result, facts.revisit)
        case VerifyAction():
            return lc.Verify(action.passed, action.note)
        case RegradeAction():
            return lc.Regrade(action.risk, action.reason)
        case RevisitAction():
            return lc.Revisit(action.satisfaction, action.note)
        case EscalateAction():
            return _escalate(action, state, facts, duties_above, sla)
        case ExtendAction(approve=bool() as approve):
            return lc.DecideExtension(approve, action.note)
        case ExtendAction(until=datetime() as until, reason=str() as reason):
            if state.petition is not None:
                _lawful("until", lambda p: p.check_extension(_clocks(state), until), sla)
            return lc.RequestExtension(until.astimezone(UTC), reason)
        case AcknowledgeAction():
            clocks = _lawful("action", lambda p: p.acknowledged(_clocks(state), now), sla)
            return lc.Acknowledge(clocks, action.note)
        case AnswerAction():
            clocks = _lawful("action", lambda p: p.answered(_clocks(state), now), sla)
            return lc.Answer(action.opinion, clocks, facts.revisit)
        case RequestReviewAction():
            return _review(action, state, facts, duties_above, sla, now)
        case ResolveOnSiteAction():
            return on_site(action.note, facts)
        case MergeAction():
            if action.into == facts.case_id:
                raise BadCommand("into: a case cannot be merged into itself")
            return lc.Merge(action.into)
        case ReviewReturnAction():
            return _review_return(action, state, facts, table, sla, now)
        case AppealAction():
            return lc.AppealRating(action.reason)
        case DecideAppealAction():
            return lc.DecideAppeal(action.upheld, action.note)
    raise BadCommand(f"action: {action.action!r} is not complete")


def _clocks(state: lc.CaseState) -> PetitionClocks:
    if state.petition is None:
        raise BadCommand("action: only a petition (信访) takes this step")
    return state.petition


def _lawful(field: str, step: Callable[[PetitionPlan], T], sla: SlaPolicy) -> T:
    """A step of ``kernel.petition``; what the law refuses names ``field`` (a late review says
    the day its time ran out)."""
    try:
        return step(PetitionPlan(sla.petition))
    except PetitionRefused as refusal:
        raise BadCommand(f"{field}: {refusal}") from None


def _review(
    action: RequestReviewAction,
    state: lc.CaseState,
    facts: CaseFacts,
    duties_above: Sequence[DepartmentDuty],
    sla: SlaPolicy,
    now: datetime,
) -> lc.RequestReview:
    """复查 / 复核 at the level above, with the suggestion its duty list makes. A case at the
    county's own level stays there: the platform's territory ends with the county, whose
    petition bureau then dispatches the review to the organ above the one that answered."""
    clocks = _lawful("action", lambda p: p.review_asked(_clocks(state), now), sla)
    if sla.escalation.above(state.level) is None:
        return lc.RequestReview(action.reason, clocks, state.level)
    climbed = _escalate(EscalateAction(reason=action.reason), state, facts, duties_above, sla)
    return lc.RequestReview(action.reason, clocks, climbed.to_level, climbed.suggestion)


def _dispatch(
    action: DispatchAction,
    state: lc.CaseState,
    facts: CaseFacts,
    table: RoutingTable,
    sla: SlaPolicy,
    now: datetime,
) -> lc.Dispatch:
    """一键派单: no assignee means the suggestion (with its proposed helpers)."""
    if action.assignee is None:
        if state.suggestion is None:
            raise BadCommand("assignee: there is no suggestion to take; name the assignee")
        assignee, level = assignee_for(state.suggestion.code, facts, table)
        helpers = list(facts.proposed_helpers)
    else:
        assignee, level = assignee_for(action.assignee, facts, table)
        helpers = []
    if action.helpers is not None:
        helpers = [assignee_for(code, facts, table)[0] for code in action.helpers]
    helpers = [h for h in helpers if h.code != assignee.code]
    return lc.Dispatch(
        assignee=assignee, level=level,
        deadlines=sla.deadlines(
            now, facts.resolve, channel=facts.channel, category=facts.category, risk=facts.risk,
            unit=assignee.code,
        ),
        helpers=tuple(helpers), rule=facts.rule, category=facts.category,
        channel=facts.channel, risk=facts.risk, territory=facts.territory, summary=facts.summary,
    )  # fmt: skip


def _review_return(
    action: ReviewReturnAction,
    state: lc.CaseState,
    facts: CaseFacts,
    table: RoutingTable,
    sla: SlaPolicy,
    now: datetime,
) -> lc.ReviewReturn:
    """退单审核: a refused return goes back to the unit that returned it, with fresh limits."""
    back = None
    if not action.approve and state.return_review is not None:
        to_unit = DispatchAction(assignee=state.return_review.code, helpers=[])
        back = _dispatch(to_unit, state, facts, table, sla, now)
    return lc.ReviewReturn(action.approve, back, action.note)


def _escalate(
    action: EscalateAction,
    state: lc.CaseState,
    facts: CaseFacts,
    duties_above: Sequence[DepartmentDuty],
    sla: SlaPolicy,
) -> lc.Escalate:
    """格呼街应、街呼区应: by default the level above on the kernel's ladder, the one a late clock
    climbs too."""
    to_level = action.to_level or sla.escalation.above(state.level)
    if to_level not in ("grid", "community", "street", "district"):
        raise BadCommand(f"to_level: nowhere to escalate a case at {state.level} level")
    street = next((u.code for u in facts.place if u.level == "street"), None)
    unit = next((u.code for u in facts.place if u.level == to_level), None)
    leads = [
        d for d in duties_above
        if d.role == "lead" and d.level == to_level and (to_level == "district" or d.unit == street)
    ]  # fmt: skip
    suggestion = (
        Assignee(kind="department", code=leads[0].department, name=leads[0].name) if leads else None
    )
    return lc.Escalate(to_level, action.reason, suggestion, unit, tuple(action.supervisors))
