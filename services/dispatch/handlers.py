"""What dispatch does with each event and command, inside a unit of work.

Grid is asked what it must be asked before the transaction begins, so that no case waits on
another service while its rows are held. Every change of a case goes through the lifecycle
(``lifecycle.handle``) and leaves with the events it causes in the same transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.actions import LIFECYCLE_ACTION, DispatchAction
from contracts.events import (
    CaseReceived,
    Envelope,
    EscalationRequested,
    RevisitAnswered,
)
from contracts.rpc import CaseView, DepartmentDuty
from kit.logs import about
from services.dispatch import lifecycle as lc
from services.dispatch import routing
from services.dispatch.commands import ActOnCase, BadCommand, DispatchMany, parse
from services.dispatch.config import DispatchConfig
from services.dispatch.grid import Grid
from services.dispatch.models import Case
from services.dispatch.unit_of_work import DispatchUnitOfWork

log = logging.getLogger(__name__)
SYSTEM = lc.Actor("auto", "system")
SUPERVISION = lc.Actor("supervision", "system")
CITIZEN = lc.Actor("citizen", "citizen")
ONE_CLICK: dict[str, Any] = {"action": "dispatch"}
"""一键派单: a dispatch naming no one takes the suggestion."""


class CaseNotFound(Exception):
    """No such case (or not one this caller may see)."""


class StaleCase(Exception):
    """The case changed since the caller looked at it; reload and decide again."""


def route_cases(
    uow: DispatchUnitOfWork,
    events: list[Envelope[CaseReceived]],
    grid: Grid,
    config: DispatchConfig,
    now: datetime,
) -> None:
    """转 for a burst of received cases, in one transaction; a case received before (the
    event redelivered) is left as it is."""
    received = [event for event in events if event.case_id is not None]
    routed = routing.route_all(grid, received, config)
    with uow:
        fresh = uow.first_times(event.event_id for event in received)
        for one in routed:
            if fresh.take(one.event.event_id):
                route_case(uow, one, config, now)
        uow.commit()


def route_case(
    uow: DispatchUnitOfWork, routed: routing.Routed, config: DispatchConfig, now: datetime
) -> None:
    """The case made as received, and its first step: dispatched, waiting, or resolved."""
    with about(case_id=routed.event.case_id, event_id=routed.event.event_id):
        case = routing.new_case(routed, now, config.sla.petition)
        command = routing.first_command(case, routed.decision, config.sla, now)
        actor = SYSTEM
        if isinstance(command, lc.ConcludeAtDesk):  # 直办: the desk's own conclusion
            actor = lc.Actor(case.received_by or "centre", "operator")
        carry_out(uow, case, command, actor, now)
        uow.cases.add(case)
        uow.cases.link_repeats(case.case_id, routed.event.data.repeat_of)


def act(
    uow: DispatchUnitOfWork, command: ActOnCase, grid: Grid, config: DispatchConfig, now: datetime
) -> CaseView:
    """One lifecycle action of a person; the case as it is after it."""
    wanted, case_id = command.action, command.case_id
    duties_above = []
    if wanted.action in ("escalate", "request_review"):
        duties_above = escalation_duties(uow, case_id, grid, config)
    with about(case_id=case_id), uow:
        case = uow.cases.get(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        if command.command_id and not uow.first_time(f"command:{command.command_id}"):
            return case.view()
        expected = wanted.expected_version
        if expected is not None and expected != case.version:
            raise StaleCase(f"{case_id} is at version {case.version}, not {expected}")
        change = parse(
            wanted, case.state(), routing.facts_of(case), config.table, config.sla, now,
            duties_above,
        )  # fmt: skip
        carry_out(uow, case, change, command.actor, now)
        uow.commit()
        return case.view()


def escalation_duties(
    uow: DispatchUnitOfWork, case_id: str, grid: Grid, config: DispatchConfig
) -> list[DepartmentDuty]:
    with uow.read() as cases:
        seen = cases.get(case_id)
    if seen is None:
        raise CaseNotFound(case_id)
    return routing.duties_above(grid, config.sla, seen)


def dispatch_many(
    uow: DispatchUnitOfWork,
    command: DispatchMany,
    grid: Grid,
    config: DispatchConfig,
    now: datetime,
) -> list[dict[str, Any]]:
    """Each case takes its suggestion, in a transaction of its own; an answer per case."""
    answers: list[dict[str, Any]] = []
    for case_id in command.case_ids:
        per_case = f"{command.command_id}:{case_id}" if command.command_id else None
        one_click = ActOnCase(case_id, DispatchAction(), command.actor, per_case)
        try:
            view = act(uow, one_click, grid, config, now)
            answers.append({"case_id": case_id, "ok": True, "status": view.status})
        except (CaseNotFound, BadCommand, lc.LifecycleError) as refusal:
            answers.append({"case_id": case_id, "ok": False, "error": str(refusal)})
    return answers


def escalate_when_late(
    uow: DispatchUnitOfWork,
    event: Envelope[EscalationRequested],
    grid: Grid,
    config: DispatchConfig,
    now: datetime,
) -> None:
    """格呼街应、街呼区应: a limit is past; the level above takes the case, dispatched at once
    when routing knows who leads there. A case that moved on meanwhile stays put."""
    with about(case_id=event.case_id, event_id=event.event_id):
        asked = event.data
        with uow.read() as cases:
            seen = cases.get(event.case_id) if event.case_id else None
        if seen is None or seen.level != asked.from_level:
            log.info("escalation from %s: the case is no longer there", asked.from_level)
            return
        escalation = {"action": "escalate", "to_level": asked.to_level, "reason": asked.reason,
                      "supervisors": routing.supervisors(grid, seen, asked.to_level)}  # fmt: skip
        duties_above = routing.duties_above(grid, config.sla, seen)
        with uow:
            case = uow.cases.get(seen.case_id)
            if not uow.first_time(event.event_id) or case is None:
                return
            climbed = attempt(uow, case, escalation, SUPERVISION, config, now, duties_above)
            if climbed and case.suggestion is not None:
                attempt(uow, case, ONE_CLICK, SYSTEM, config, now)  # dispatched_by: auto (DESIGN)
            uow.commit()


def revisit_by_reply(
    uow: DispatchUnitOfWork, event: Envelope[RevisitAnswered], config: DispatchConfig, now: datetime
) -> None:
    """访: the citizen's SMS answer closes the case, or sends it back (返工)."""
    answer = event.data
    revisit = {"action": "revisit", "satisfaction": answer.satisfaction,
               "note": f"短信回访:{answer.reply}"}  # fmt: skip
    with about(case_id=event.case_id, event_id=event.event_id), uow:
        case = uow.cases.get(event.case_id or "")
        if not uow.first_time(event.event_id) or case is None:
            return
        attempt(uow, case, revisit, CITIZEN, config, now)
        uow.commit()


def carry_out(
    uow: DispatchUnitOfWork, case: Case, command: lc.Command, actor: lc.Actor, now: datetime
) -> None:
    """The lifecycle's step on the case, and the events it causes."""
    outcome = lc.handle(case.state(), command, actor, now)
    case.apply(outcome)
    for spec, data in outcome.facts:
        uow.emit(spec.new(data, case_id=case.case_id, occurred_at=now))


def attempt(
    uow: DispatchUnitOfWork,
    case: Case,
    action: dict[str, Any],
    actor: lc.Actor,
    config: DispatchConfig,
    now: datetime,
    duties_above: list[DepartmentDuty] | None = None,
) -> bool:
    """An automatic action: refused (the case moved on) is logged, not raised."""
    try:
        command = parse(
            LIFECYCLE_ACTION.validate_python(action), case.state(), routing.facts_of(case),
            config.table, config.sla, now, duties_above or [],
        )  # fmt: skip
        carry_out(uow, case, command, actor, now)
    except (BadCommand, ValidationError, lc.LifecycleError) as refusal:
        log.info("%s of %s by %s not carried out: %s", action["action"], case.case_id,
                 actor.user, refusal)  # fmt: skip
        return False
    return True
