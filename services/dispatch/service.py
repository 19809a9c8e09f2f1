"""Dispatch's entrypoints: route every received case, and carry out every lifecycle action."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from contracts.actions import LIFECYCLE_ACTION
from contracts.events import (
    CASE_RECEIVED,
    GRID_STAFF_CHANGED,
    GRID_UNIT_CHANGED,
    NOTIFY_REVISIT_ANSWERED,
    SUPERVISION_ESCALATION_REQUESTED,
    Assignee,
    CaseReceived,
    Envelope,
    EscalationRequested,
    Level,
    RevisitAnswered,
)
from contracts.rpc import CasePage, DepartmentDuty, GridUnit, Location, StaffMember
from kernel.sla import SlaPolicy
from kit.base import ServiceBase
from kit.cache import KeptAnswers
from kit.db import UnitOfWork
from kit.green import concurrently
from kit.messaging import on_event, on_event_batch
from kit.providers import Configured, Database
from kit.rpc import RpcClient, RpcUnavailable, rpc
from kit.settings import Settings
from kit.sla import load_sla_policy
from services import metering  # noqa: F401  (registers the domain's meters)
from services.dispatch import domain
from services.dispatch import lifecycle as lc
from services.dispatch.commands import BadCommand, CaseFacts, parse
from services.dispatch.models import TABLES, Case
from services.dispatch.repository import CaseFilters, CaseRepository
from services.dispatch.routing_config import RoutingConfigError, RoutingFile, load_routing

log = logging.getLogger(__name__)
GRID_TIMEOUT_SECONDS = 2.0
GRID_CALLS_AT_ONCE = 8
"""Duty lists asked of grid side by side while a burst is routed (most come from the cache)."""
NOWHERE = domain.Place(note="no place given")
KEEP_DUTIES_SECONDS = 60.0
"""Duty lists are kept until grid says its duties changed, and this long at most."""
DutyQuestion = tuple[str, str, str | None]  # category, level, unit
SYSTEM = lc.Actor("auto", "system")
MAX_PAGE = 1_000_000
"""Deeper than any real list; a larger page number would overflow the database's integer."""
SUPERVISION = lc.Actor("supervision", "system")
CITIZEN = lc.Actor("citizen", "citizen")
ONE_CLICK: dict[str, Any] = {"action": "dispatch"}
"""一键派单: a dispatch naming no one takes the suggestion."""


class CaseNotFound(Exception):
    """No such case (or not one this caller may see)."""


class StaleCase(Exception):
    """The case changed since the caller looked at it; reload and decide again."""


@dataclass(frozen=True)
class DispatchConfig:
    table: domain.RoutingTable
    rules: domain.RoutingRules
    sla: SlaPolicy


def read_routing(path: Path, catalogue: domain.RoutingTable) -> RoutingFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RoutingConfigError(f"{path}: missing") from None
    return load_routing(text, catalogue.categories, catalogue.departments, path.name)


def load_config(settings: Settings) -> DispatchConfig:
    catalogue = domain.RoutingTable.from_config(
        settings.load_yaml("categories.yml"), settings.load_yaml("departments.yml")
    )
    routing = read_routing(settings.config_dir / "routing.yml", catalogue)
    return DispatchConfig(
        domain.extra_keywords(routing, catalogue), domain.RoutingRules.from_routing(routing),
        load_sla_policy(settings.config_dir),
    )  # fmt: skip


class DispatchService(ServiceBase):
    name = "dispatch"
    db = Database(TABLES)
    config = Configured(load_config)
    duties = Configured(
        lambda _settings: KeptAnswers[DutyQuestion, list[DepartmentDuty]](KEEP_DUTIES_SECONDS)
    )
    grid = RpcClient("grid", timeout=GRID_TIMEOUT_SECONDS)

    @on_event_batch(CASE_RECEIVED)
    def route_case(self, batch: list[tuple[Envelope[CaseReceived]]]) -> list[None]:
        """转: locate, classify, apply the rules; dispatch when certain, else one click. A
        burst is routed together: grid is asked about all its places in one call, and the
        cases go in in one transaction, one INSERT for the cases and one for their steps."""
        events = [event for (event,) in batch if event.case_id is not None]
        located = zip(events, self._locate_all([event.data for event in events]), strict=True)
        decisions = concurrently(self._decide, located, width=GRID_CALLS_AT_ONCE)
        now = datetime.now(UTC)
        with self.db.unit_of_work() as uow:
            fresh, routed = uow.first_times(event.event_id for event in events), []
            for event, (decision, place) in zip(events, decisions, strict=True):
                if fresh.take(event.event_id):
                    case = new_case(event.case_id or "", event.data, decision, place, now)
                    command = self._first_command(case, decision, now)
                    self._carry_out(uow, case, command, SYSTEM, now)
                    routed.append(case)
            CaseRepository(uow.session).add_all(routed)
            uow.commit()
        return [None] * len(batch)

    def _decide(
        self, located: tuple[Envelope[CaseReceived], domain.Place]
    ) -> tuple[domain.RoutingDecision, domain.Place]:
        event, place = located
        received = event.data
        classified = domain.classify(received, self.config.table)
        category = classified[0]
        duties = self._duties(category.code if category else None, place)
        decision = domain.decide(
            received, place, duties, self.config.table, self.config.rules, classified
        )
        return decision, place

    @rpc
    def act(
        self,
        case_id: str,
        action: dict[str, Any],
        actor: dict[str, Any],
        command_id: str | None = None,
    ) -> Any:
        """Carry out one lifecycle action (``contracts.actions``, by its ``action`` name); the
        same ``command_id`` again changes nothing."""
        wanted = LIFECYCLE_ACTION.validate_python(action)
        who = lc.Actor(str(actor["user"]), str(actor.get("role", "staff")), actor.get("unit"))
        now = datetime.now(UTC)
        with self.db.read() as session:
            seen = CaseRepository(session).get(case_id)
            if seen is None:
                raise CaseNotFound(case_id)
            duties_above = self._duties_above(seen) if wanted.action == "escalate" else []
        with self.db.unit_of_work() as uow:
            case = CaseRepository(uow.session).get(case_id)
            if case is None:
                raise CaseNotFound(case_id)
            if command_id and not uow.first_time(f"command:{command_id}"):
                return case.view().model_dump(mode="json")
            expected = wanted.expected_version
            if expected is not None and expected != case.version:
                raise StaleCase(f"{case_id} is at version {case.version}, not {expected}")
            command = parse(
                wanted, case.state(), facts_of(case), self.config.table, self.config.sla, now,
                duties_above,
            )  # fmt: skip
            self._carry_out(uow, case, command, who, now)
            uow.commit()
            return case.view().model_dump(mode="json")

    @rpc
    def dispatch_many(
        self, case_ids: list[str], actor: dict[str, Any], command_id: str | None = None
    ) -> Any:
        """Batch one-click: each case takes its suggestion; an answer per case."""
        answers = []
        for case_id in case_ids:
            try:
                per_case = f"{command_id}:{case_id}" if command_id else None
                view = self.act(case_id, ONE_CLICK, actor, per_case)
                answers.append({"case_id": case_id, "ok": True, "status": view["status"]})
            except (CaseNotFound, BadCommand, lc.LifecycleError) as refusal:
                answers.append({"case_id": case_id, "ok": False, "error": str(refusal)})
        return answers

    @rpc
    def get_case(self, case_id: str) -> Any:
        with self.db.read() as session:
            case = CaseRepository(session).get(case_id)
            return case.view().model_dump(mode="json") if case else None

    @rpc
    def list_cases(
        self,
        scope: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> Any:
        """Cases newest first; ``scope`` (unit codes) limits them to the cases those units hold,
        help with, or that lie within them."""
        page, page_size = min(max(page, 1), MAX_PAGE), min(max(page_size, 1), 200)
        wanted = CaseFilters.from_mapping(filters or {})
        with self.db.read() as session:
            cases, total = CaseRepository(session).page(scope, wanted, page, page_size)
            items = [case.view() for case in cases]
        answer = CasePage(items=items, total=total, page=page, page_size=page_size)
        return answer.model_dump(mode="json")

    @on_event(SUPERVISION_ESCALATION_REQUESTED)
    def escalate_when_late(self, event: Envelope[EscalationRequested]) -> None:
        """格呼街应、街呼区应: a limit is past; the level above takes the case, dispatched at
        once when routing knows who leads there. A case that moved on meanwhile stays put."""
        asked, now = event.data, datetime.now(UTC)
        seen = self._case_at(event.case_id, asked.from_level)
        if seen is None:
            return
        escalation = {"action": "escalate", "to_level": asked.to_level, "reason": asked.reason,
                      "supervisors": self._supervisors(seen, asked.to_level)}  # fmt: skip
        duties_above = self._duties_above(seen)
        with self.db.unit_of_work() as uow:
            case = CaseRepository(uow.session).get(seen.case_id)
            if not uow.first_time(event.event_id) or case is None:
                return
            climbed = self._try(uow, case, escalation, SUPERVISION, now, duties_above)
            if climbed and case.suggestion is not None:
                self._try(uow, case, ONE_CLICK, SYSTEM, now)  # dispatched_by: auto (DESIGN)
            uow.commit()

    @on_event(NOTIFY_REVISIT_ANSWERED)
    def revisit_by_reply(self, event: Envelope[RevisitAnswered]) -> None:
        """访: the citizen's SMS answer closes the case, or sends it back (返工)."""
        answer, now = event.data, datetime.now(UTC)
        revisit = {"action": "revisit", "satisfaction": answer.satisfaction,
                   "note": f"短信回访:{answer.reply}"}  # fmt: skip
        with self.db.unit_of_work() as uow:
            case = CaseRepository(uow.session).get(event.case_id or "")
            if not uow.first_time(event.event_id) or case is None:
                return
            self._try(uow, case, revisit, CITIZEN, now)
            uow.commit()

    @on_event(GRID_UNIT_CHANGED, GRID_STAFF_CHANGED)
    def territory_changed(self, event: Envelope[Any]) -> None:
        self.duties.clear()

    # --- the work behind the entrypoints ---

    def _carry_out(
        self, uow: UnitOfWork, case: Case, command: lc.Command, actor: lc.Actor, now: datetime
    ) -> None:
        outcome = lc.handle(case.state(), command, actor, now)
        case.apply(outcome)
        for spec, data in outcome.facts:
            uow.emit(spec.new(data, case_id=case.case_id, occurred_at=now))

    def _try(
        self,
        uow: UnitOfWork,
        case: Case,
        action: dict[str, Any],
        actor: lc.Actor,
        now: datetime,
        duties_above: list[DepartmentDuty] | None = None,
    ) -> bool:
        """An automatic action: refused (the case moved on) is logged, not raised."""
        try:
            command = parse(
                LIFECYCLE_ACTION.validate_python(action), case.state(), facts_of(case),
                self.config.table, self.config.sla, now, duties_above or [],
            )  # fmt: skip
            self._carry_out(uow, case, command, actor, now)
        except (BadCommand, ValidationError, lc.LifecycleError) as refusal:
            log.info(
                "%s of %s by %s not carried out: %s",
                action["action"],
                case.case_id,
                actor.user,
                refusal,
            )
            return False
        return True

    def _case_at(self, case_id: str | None, level: Level) -> Case | None:
        with self.db.read() as session:
            case = CaseRepository(session).get(case_id) if case_id else None
        if case is None or case.level != level:
            log.info("escalation of %s from %s: the case is no longer there", case_id, level)
            return None
        return case

    def _supervisors(self, case: Case, level: Level) -> list[str]:
        """The supervisors (督导) of the unit the case climbs to: they are alerted."""
        unit = facts_of(case).territory.get(level)
        if unit is None:
            return []
        try:
            staff = self.grid.staff(unit, "supervisor")
        except RpcUnavailable as silence:
            log.warning("escalating %s without naming supervisors: %s", case.case_id, silence)
            return []
        return [StaffMember.model_validate(person).person_id for person in staff]

    def _first_command(
        self, case: Case, decision: domain.RoutingDecision, now: datetime
    ) -> lc.Command:
        if decision.decision == "resolve_on_site":
            return lc.ResolveOnSite(decision.reason)
        if decision.decision == "dispatch" and decision.assignee is not None:
            return lc.Dispatch(
                assignee=decision.assignee, level=decision.level,
                deadlines=self.config.sla.deadlines(
                    now, decision.resolve, channel=case.channel, category=case.category,
                    risk=case.risk,
                ),
                helpers=decision.helpers, rule=decision.rule, category=decision.category,
                channel=case.channel, risk=case.risk,  # type: ignore[arg-type]
                territory=facts_of(case).territory, summary=summary_of(case.content),
            )  # fmt: skip
        return lc.AwaitDispatch(
            decision.reason,
            decision.assignee,
            decision.alternatives,
            case.risk,  # type: ignore[arg-type]
            facts_of(case).territory,
            summary_of(case.content),
        )

    def _locate_all(self, received: list[CaseReceived]) -> list[domain.Place]:
        """Ask grid where the cases are, all in one call; without an answer in time, they are
        routed without a place."""
        queries = [place_query(case) for case in received]
        asked = [query for query in queries if query is not None]
        try:
            answers = iter(self.grid.locate_all(asked) if asked else [])
        except RpcUnavailable as silence:
            log.warning("routing %d cases without a place: %s", len(asked), silence)
            unknown = domain.Place(note=f"grid unavailable: {silence}")
            return [unknown if q is not None else NOWHERE for q in queries]
        return [
            domain.Place.from_location(Location.model_validate(next(answers)))
            if query is not None
            else NOWHERE
            for query in queries
        ]

    def _duties(
        self, category: str | None, place: domain.Place
    ) -> dict[Level, list[DepartmentDuty]]:
        if category is None:
            return {}
        return {
            "street": self._ask_duties(category, "street", place.street) if place.street else [],
            "district": self._ask_duties(category, "district", None),
        }

    def _ask_duties(self, category: str, level: str, unit: str | None) -> list[DepartmentDuty]:
        def ask() -> list[DepartmentDuty]:
            answer = self.grid.departments_for(category, level, unit)
            return [DepartmentDuty.model_validate(d) for d in answer]

        try:
            return self.duties.get((category, level, unit), ask)
        except RpcUnavailable as silence:
            log.warning("no duty list for %s at %s: %s", category, level, silence)
            return []

    def _duties_above(self, case: Case) -> list[DepartmentDuty]:
        above = self.config.sla.escalation.above(case.level) if case.level else None
        if above is None or case.category is None:
            return []
        street = next((u["code"] for u in case.place if u["level"] == "street"), None)
        return self._ask_duties(case.category, above, street if above != "district" else None)


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
    )


SUMMARY_CHARS = 100


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


def summary_of(content: str) -> str:
    """The content in a few words, for messages and screens."""
    flat = " ".join(content.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


def new_case(
    case_id: str,
    received: CaseReceived,
    decision: domain.RoutingDecision,
    place: domain.Place,
    now: datetime,
) -> Case:
    return Case(
        case_id=case_id,
        channel=received.channel,
        source=received.source,
        category=decision.category,
        risk=received.risk,
        content=received.content,
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
        routing_reason=f"{decision.reason} ({place.note})" if place.note else decision.reason,
        received=received.model_dump(mode="json"),
        received_at=received.received_at,
        updated_at=now,
        history=[],
    )
