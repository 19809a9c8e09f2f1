"""From an action and its parameters (what the console sends) to a lifecycle command.

Pure: whatever must be looked up (the catalogue, the duty list at the next level, the SLA
policy) is handed in. Bad parameters raise ``BadCommand`` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.events import Assignee, Level, Territory
from contracts.rpc import DepartmentDuty, GridUnit
from kernel.sla import SlaPolicy
from services.dispatch import lifecycle as lc
from services.dispatch.domain import RoutingTable

SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")


class BadCommand(ValueError):
    """The parameters of an action are missing or wrong; the message names the field."""


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

    @property
    def territory(self) -> Territory:
        return {unit.level: unit.code for unit in self.place}


def _text(params: Mapping[str, Any], field: str, required: bool = True) -> str:
    value = params.get(field, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadCommand(f"{field}: required text")
    return value.strip()


def _moment(params: Mapping[str, Any], field: str) -> datetime:
    raw = params.get(field)
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise BadCommand(f"{field}: an ISO 8601 date-time with a zone") from None
    if value.tzinfo is None:
        raise BadCommand(f"{field}: give the time zone")
    return value.astimezone(UTC)


def assignee_for(code: str, facts: CaseFacts, table: RoutingTable) -> tuple[Assignee, Level]:
    """A department by its code, or the case's own grid (or micro-grid) by its code."""
    department = table.departments.get(code)
    if department is not None:
        return department.as_assignee(), department.level
    for unit in facts.place:
        if unit.code == code and unit.level in ("grid", "micro_grid"):
            return Assignee(kind="grid", code=unit.code, name=unit.name), unit.level
    raise BadCommand(f"assignee: {code!r} is neither a department nor this case's grid")


def parse(
    action: str,
    params: Mapping[str, Any],
    state: lc.CaseState,
    facts: CaseFacts,
    table: RoutingTable,
    sla: SlaPolicy,
    now: datetime,
    duties_above: Sequence[DepartmentDuty] = (),
) -> lc.Command:
    match action:
        case "dispatch":
            return _dispatch(params, state, facts, table, sla, now)
        case "accept":
            return lc.Accept()
        case "return":
            return lc.Return(_text(params, "reason"))
        case "feedback":
            return lc.Feedback(_text(params, "note"))
        case "conclude":
            return lc.Conclude(_text(params, "result"))
        case "verify":
            passed = params.get("passed")
            if not isinstance(passed, bool):
                raise BadCommand("passed: true or false")
            return lc.Verify(passed, _text(params, "note", required=not passed))
        case "revisit":
            satisfaction = params.get("satisfaction")
            if satisfaction not in SATISFACTION:
                raise BadCommand(f"satisfaction: one of {SATISFACTION}")
            return lc.Revisit(satisfaction, _text(params, "note", required=False))
        case "escalate":
            return _escalate(params, state, facts, duties_above, sla)
        case "extend" if "approve" in params:
            if not isinstance(params["approve"], bool):
                raise BadCommand("approve: true or false")
            return lc.DecideExtension(params["approve"], _text(params, "note", required=False))
        case "extend":
            return lc.RequestExtension(_moment(params, "until"), _text(params, "reason"))
        case "resolve_on_site":
            return lc.ResolveOnSite(_text(params, "note"))
        case "merge":
            into = _text(params, "into")
            if into == facts.case_id:
                raise BadCommand("into: a case cannot be merged into itself")
            return lc.Merge(into)
    raise BadCommand(f"action: {action!r} is not a lifecycle action")


def _dispatch(
    params: Mapping[str, Any],
    state: lc.CaseState,
    facts: CaseFacts,
    table: RoutingTable,
    sla: SlaPolicy,
    now: datetime,
) -> lc.Dispatch:
    """一键派单: no assignee means the suggestion (with its proposed helpers)."""
    code = params.get("assignee")
    if code is None:
        if state.suggestion is None:
            raise BadCommand("assignee: there is no suggestion to take; name the assignee")
        assignee, level = assignee_for(state.suggestion.code, facts, table)
        helpers = list(facts.proposed_helpers)
    else:
        if not isinstance(code, str):
            raise BadCommand("assignee: a department or grid code")
        assignee, level = assignee_for(code, facts, table)
        helpers = []
    if "helpers" in params:
        listed = params["helpers"]
        if not isinstance(listed, list) or not all(isinstance(c, str) for c in listed):
            raise BadCommand("helpers: a list of department codes")
        if len(set(listed)) != len(listed):
            raise BadCommand("helpers: a unit is named twice")
        helpers = [assignee_for(c, facts, table)[0] for c in listed]
    helpers = [h for h in helpers if h.code != assignee.code]
    return lc.Dispatch(
        assignee=assignee, level=level,
        deadlines=sla.deadlines(
            now, facts.resolve, channel=facts.channel, category=facts.category, risk=facts.risk
        ),
        helpers=tuple(helpers), rule=facts.rule, category=facts.category,
        channel=facts.channel, risk=facts.risk, territory=facts.territory, summary=facts.summary,
    )  # fmt: skip


def _escalate(
    params: Mapping[str, Any],
    state: lc.CaseState,
    facts: CaseFacts,
    duties_above: Sequence[DepartmentDuty],
    sla: SlaPolicy,
) -> lc.Escalate:
    """格呼街应、街呼区应: by default the level above on the kernel's ladder, the one a late clock
    climbs too."""
    to_level = params.get("to_level") or sla.escalation.above(state.level)
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
    supervisors = params.get("supervisors", [])
    if not isinstance(supervisors, list):
        raise BadCommand("supervisors: a list")
    return lc.Escalate(to_level, _text(params, "reason"), suggestion, unit, tuple(supervisors))
