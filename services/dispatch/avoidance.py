"""回避: a petition that accuses a unit (被反映单位: a department, a grid, or the unit of the
person it accuses) is never routed to that unit. The rules decide as for any case; when their
choice is the accused unit, the case goes to the level above it instead (格呼街应、街呼区应's
ladder: a grid's street, a street's county), and the decision names the rule ``avoidance`` and
says why in Chinese. Above a county department there is no level inside the county's ladder:
``routing.yml`` ``avoidance.above_district`` names who takes those (the county's
comprehensive-governance centre); without it a person decides.

Pure: the duty lists are asked for before, as for every decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Final, Protocol

from contracts.events import Assignee, CaseReceived, Level
from contracts.rpc import DepartmentDuty
from services.dispatch.domain import Place, RoutingDecision, RoutingRules, RoutingTable

AVOIDANCE: Final = "avoidance"
"""The rule name a decision moved by 回避 carries."""


class Ladder(Protocol):
    def above(self, level: str) -> Level | None: ...


def avoid(
    decision: RoutingDecision,
    case: CaseReceived,
    place: Place,
    duties: Mapping[Level, Sequence[DepartmentDuty]],
    table: RoutingTable,
    rules: RoutingRules,
    ladder: Ladder,
) -> RoutingDecision:
    """``decision`` as it stands when the case accuses nobody it names; else with the accused
    unit taken out of it, and the case sent to the level above when it was the lead."""
    accused = case.accused_unit if case.channel == "petition" else None
    if accused is None:
        return decision
    others = tuple(a for a in decision.alternatives if a.code != accused)
    helpers = tuple(a for a in decision.helpers if a.code != accused)
    lead = decision.assignee
    if lead is None or lead.code != accused:
        return replace(decision, alternatives=others, helpers=helpers)
    above = ladder.above(decision.level)
    if above == "community":  # a community committee takes no case over from a grid
        above = ladder.above(above)
    found = _lead_above(above, accused, place, duties, table, rules, decision.category)
    why = f"回避：信访件反映{lead.name}，不交其办理"
    if found is None:
        return RoutingDecision(
            "await", AVOIDANCE, f"{why}；上一级无人可接，由人工决定（原规则：{decision.reason}）",
            decision.category, above or decision.level, None, others, helpers, decision.resolve,
        )  # fmt: skip
    level, chosen = found
    confirm = "" if decision.decision == "dispatch" else "；仅为建议，由人工确认"
    return RoutingDecision(
        decision.decision, AVOIDANCE,
        f"{why}，交上一级{chosen.name}{confirm}（原规则：{decision.reason}）",
        decision.category, level, chosen, tuple(a for a in others if a != chosen),
        tuple(a for a in helpers if a != chosen), decision.resolve,
    )  # fmt: skip


def _lead_above(
    above: Level | None,
    accused: str,
    place: Place,
    duties: Mapping[Level, Sequence[DepartmentDuty]],
    table: RoutingTable,
    rules: RoutingRules,
    category: str | None,
) -> tuple[Level, Assignee] | None:
    """Who leads one level above the accused: the duty list's lead there (the case's street's,
    or the county's), else for the county the category's own department; above the county,
    ``avoidance.above_district``."""
    if above in ("street", "district"):
        for duty in duties.get(above, ()):
            in_reach = above == "district" or duty.unit == place.street
            if duty.role == "lead" and in_reach and duty.department != accused:
                return above, Assignee(kind="department", code=duty.department, name=duty.name)
    if above == "district" and category is not None and category in table.categories:
        own = table.departments.get(table.categories[category].department)
        if own is not None and own.level == "district" and own.code != accused:
            return "district", own.as_assignee()
    if above is None and rules.above_district not in (None, accused):
        department = table.departments.get(rules.above_district or "")
        if department is not None:
            return "district", department.as_assignee()
    return None
