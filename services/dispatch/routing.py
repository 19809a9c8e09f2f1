"""转: where received cases go. Grid is asked where a burst of cases is in one call and who is
on duty for each case side by side; the rules decide (``domain.decide``); the case is made with
its first command: dispatched when certain, waiting for one click when not, or resolved on site.

Without grid's answer in time a case is routed all the same, without a place or duty list:
the rules then leave it for a person to decide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from contracts.desk import revisit_by
from contracts.events import Assignee, CaseReceived, Envelope, Level
from contracts.rpc import DepartmentDuty, GridUnit
from kernel.petition import PetitionLimits, PetitionPlan
from kernel.sla import SlaPolicy
from kit.green import concurrently
from services.dispatch import avoidance, domain, search
from services.dispatch import lifecycle as lc
from services.dispatch.commands import CaseFacts, on_site
from services.dispatch.config import DispatchConfig
from services.dispatch.grid import Grid, RpcUnavailable
from services.dispatch.models import Case, petition_row

log = logging.getLogger(__name__)
GRID_CALLS_AT_ONCE = 8
"""Duty lists asked of grid side by side while a burst is routed (most come from the cache)."""
NOWHERE = domain.Place(note="未给出位置")
SUMMARY_CHARS = 100


@dataclass(frozen=True)
class Routed:
    """A received case, where it is, and where the rules send it."""

    event: Envelope[CaseReceived]
    place: domain.Place
    decision: domain.RoutingDecision


def route_all(
    grid: Grid, events: list[Envelope[CaseReceived]], config: DispatchConfig
) -> list[Routed]:
    """Where each case is and goes, in the order received."""
    places = locate_all(grid, [event.data for event in events])

    def decide(located: tuple[Envelope[CaseReceived], domain.Place]) -> Routed:
        event, place = located
        classified = domain.classify(event.data, config.table)
        category = classified[0]
        duties = duties_for(grid, category.code if category else None, place)
        decision = domain.decide(event.data, place, duties, config.table, config.rules, classified)
        decision = avoidance.avoid(
            decision, event.data, place, duties, config.table, config.rules, config.sla.escalation
        )
        return Routed(event, place, decision)

    return concurrently(decide, zip(events, places, strict=True), width=GRID_CALLS_AT_ONCE)


def locate_all(grid: Grid, received: list[CaseReceived]) -> list[domain.Place]:
    """Ask grid where the cases are, all in one call; without an answer in time, they are
    routed without a place."""
    queries = [place_query(case) for case in received]
    asked = [query for query in queries if query is not None]
    try:
        answers = iter(grid.locate_all(asked) if asked else [])
    except RpcUnavailable as silence:
        log.warning("routing %d cases without a place: %s", len(asked), silence)
        unknown = domain.Place(note="网格服务无应答，未定位")
        return [unknown if query is not None else NOWHERE for query in queries]
    return [
        domain.Place.from_location(next(answers)) if query is not None else NOWHERE
        for query in queries
    ]


def place_query(received: CaseReceived) -> dict[str, Any] | None:
    """What grid is asked to locate a case by: its grid code, its point or its address, the
    first of these it has; None when it gave no place."""
    if received.grid_code:
        return {"grid_code": received.grid_code}
    if received.location:
        return {"lat": received.location.lat, "lon": received.location.lon}
    if received.address:
        return {"address": received.address}
    return None


def duties_for(
    grid: Grid, category: str | None, place: domain.Place
) -> dict[Level, list[DepartmentDuty]]:
    """The duty lists the rules look at: the case's street's and the county's."""
    if category is None:
        return {}
    return {
        "street": ask_duties(grid, category, "street", place.street) if place.street else [],
        "district": ask_duties(grid, category, "district", None),
    }


def duties_above(grid: Grid, sla: SlaPolicy, case: Case) -> list[DepartmentDuty]:
    """The duty list of the level a case escalates to, for the suggestion there."""
    above = sla.escalation.above(case.level) if case.level else None
    if above is None or case.category is None:
        return []
    street = next((u["code"] for u in case.place if u["level"] == "street"), None)
    return ask_duties(grid, case.category, above, street if above != "district" else None)


def ask_duties(grid: Grid, category: str, level: str, unit: str | None) -> list[DepartmentDuty]:
    try:
        return grid.departments_for(category, level, unit)
    except RpcUnavailable as silence:
        log.warning("no duty list for %s at %s: %s", category, level, silence)
        return []


def supervisors(grid: Grid, case: Case, level: Level) -> list[str]:
    """The supervisors (督导) of the unit the case climbs to: they are alerted."""
    unit = facts_of(case).territory.get(level)
    if unit is None:
        return []
    try:
        staff = grid.staff(unit, "supervisor")
    except RpcUnavailable as silence:
        log.warning("escalating %s without naming supervisors: %s", case.case_id, silence)
        return []
    return [person.person_id for person in staff]


def first_command(
    case: Case, decision: domain.RoutingDecision, sla: SlaPolicy, now: datetime
) -> lc.Command:
    """What routing does with a new case: the rules' decision as a lifecycle command; a
    matter the desk solved on the spot (直办) is concluded as it stands."""
    at_desk = case.received.get("handled_at_desk")
    if isinstance(at_desk, dict):
        return lc.ConcludeAtDesk(str(at_desk.get("result", "")), facts_of(case).revisit)
    if decision.decision == "resolve_on_site":
        return on_site(decision.reason, facts_of(case))
    facts = facts_of(case)
    if decision.decision == "dispatch" and decision.assignee is not None:
        return lc.Dispatch(
            assignee=decision.assignee, level=decision.level,
            deadlines=sla.deadlines(
                now, decision.resolve, channel=facts.channel, category=facts.category,
                risk=facts.risk, unit=decision.assignee.code,
            ),
            helpers=decision.helpers, rule=decision.rule, category=decision.category,
            channel=facts.channel, risk=facts.risk, territory=facts.territory,
            summary=facts.summary,
        )  # fmt: skip
    return lc.AwaitDispatch(
        decision.reason, decision.assignee, decision.alternatives, facts.risk, facts.territory,
        facts.summary,
    )  # fmt: skip


def new_case(routed: Routed, now: datetime, petition: PetitionLimits | None = None) -> Case:
    """The case as received and placed, before its first step; a petition with its own clocks
    counted from its filing (``petition``: the limits of ``sla.yml``)."""
    received, decision, place = routed.event.data, routed.decision, routed.place
    clocks = (
        PetitionPlan(petition or PetitionLimits()).filed(received.received_at)
        if received.channel == "petition"
        else None
    )
    return Case(
        petition=petition_row(clocks),
        case_id=routed.event.case_id or "",
        channel=received.channel,
        source=received.source,
        category=decision.category,
        risk=received.risk,
        content=received.content,
        search_terms=search.terms_of(received.content, received.address),
        status=lc.CaseStatus.RECEIVED,
        level=decision.level,
        helpers=[],
        alternatives=[],
        proposed_helpers=[h.model_dump() for h in decision.helpers],
        verified=False,
        returns=0,
        reopens=0,
        place=[unit.model_dump() for unit in place.chain],
        resolve_seconds=int(decision.resolve.total_seconds()) if decision.resolve else None,
        routing_rule=decision.rule,
        routing_reason=f"{decision.reason}（{place.note}）" if place.note else decision.reason,
        received=received.model_dump(mode="json"),
        received_by=received.received_by,
        received_at=received.received_at,
        updated_at=now,
        history=[],
    )


def facts_of(case: Case) -> CaseFacts:
    return CaseFacts(
        case_id=case.case_id,
        category=case.category,
        channel=case.channel,
        risk=case.risk,
        rule=case.routing_rule,
        resolve=timedelta(seconds=case.resolve_seconds) if case.resolve_seconds else None,
        place=[GridUnit.model_validate(unit) for unit in case.place],
        proposed_helpers=[Assignee.model_validate(h) for h in case.proposed_helpers],
        summary=summary_of(case.content),
        revisit=revisit_by(case.channel, reporter_phone(case.received)),  # type: ignore[arg-type]
    )


def reporter_phone(received: dict[str, Any]) -> str | None:
    """The citizen's masked number as the received case gave it."""
    reporter = received.get("reporter")
    phone = reporter.get("phone") if isinstance(reporter, dict) else None
    return phone if isinstance(phone, str) else None


def summary_of(content: str) -> str:
    """The content in a few words, for messages and screens."""
    flat = " ".join(content.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"
