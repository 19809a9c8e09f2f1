"""Dispatch's entrypoints: route every received case; one-click dispatch and case reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.events import (
    CASE_AWAITING_DISPATCH,
    CASE_DISPATCHED,
    CASE_RECEIVED,
    Assignee,
    CaseAwaitingDispatch,
    CaseDispatched,
    CaseReceived,
    Envelope,
)
from contracts.rpc import CasePage
from kit.base import ServiceBase
from kit.db import UnitOfWork
from kit.messaging import on_event
from kit.providers import Configured, Database
from kit.rpc import rpc
from kit.settings import Settings
from services.dispatch import domain
from services.dispatch.models import TABLES, Case
from services.dispatch.repository import CaseRepository
from services.supervision.policy import SlaPolicy


class CaseNotFound(Exception):
    pass


@dataclass(frozen=True)
class DispatchConfig:
    routing: domain.RoutingTable
    sla: SlaPolicy


def load_config(settings: Settings) -> DispatchConfig:
    routing = domain.RoutingTable.from_config(
        settings.load_yaml("categories.yml"), settings.load_yaml("departments.yml")
    )
    return DispatchConfig(routing, SlaPolicy.from_config(settings.load_yaml("sla.yml")))


class DispatchService(ServiceBase):
    name = "dispatch"
    db = Database(TABLES)
    config = Configured(load_config)

    @on_event(CASE_RECEIVED)
    def route_case(self, event: Envelope[CaseReceived]) -> None:
        decision = domain.decide(event.data, self.config.routing)
        now = datetime.now(UTC)
        with self.db.unit_of_work() as uow:
            if not uow.first_time(event.event_id) or event.case_id is None:
                return
            case = new_case(event.case_id, event.data, decision, now)
            CaseRepository(uow.session).add(case)
            if decision.auto and decision.assignee is not None:
                self._dispatch(uow, case, decision.assignee, "auto", now)
            else:
                self._await_dispatch(uow, case, now)
            uow.commit()

    @rpc
    def dispatch_case(self, case_id: str, actor: str, assignee_code: str | None = None) -> Any:
        """一键派单: with no assignee, take the suggestion; else the named department."""
        now = datetime.now(UTC)
        with self.db.unit_of_work() as uow:
            case = CaseRepository(uow.session).get(case_id)
            if case is None:
                raise CaseNotFound(case_id)
            self._dispatch(uow, case, self._chosen(case, assignee_code), actor, now)
            uow.commit()
            return case.view().model_dump(mode="json")

    @rpc
    def get_case(self, case_id: str) -> Any:
        with self.db.read() as session:
            case = CaseRepository(session).get(case_id)
            return case.view().model_dump(mode="json") if case else None

    @rpc
    def list_cases(self, status: str | None = None, page: int = 1, page_size: int = 50) -> Any:
        page, page_size = max(page, 1), min(max(page_size, 1), 200)
        with self.db.read() as session:
            cases, total = CaseRepository(session).page(status, page, page_size)
            items = [case.view() for case in cases]
        return CasePage(items=items, total=total, page=page, page_size=page_size).model_dump(
            mode="json"
        )

    def _chosen(self, case: Case, assignee_code: str | None) -> Assignee:
        if assignee_code is None:
            if case.suggestion is None:
                raise domain.IllegalTransition("dispatch without a suggestion", case.state, [])
            return Assignee.model_validate(case.suggestion)
        department = self.config.routing.departments.get(assignee_code)
        if department is None:
            raise CaseNotFound(f"no department {assignee_code!r}")
        return department.as_assignee()

    def _dispatch(
        self, uow: UnitOfWork, case: Case, assignee: Assignee, actor: str, now: datetime
    ) -> None:
        case.move("dispatch", actor, now, case.routing_reason)
        resolve = timedelta(seconds=case.resolve_seconds) if case.resolve_seconds else None
        deadlines = self.config.sla.deadlines(now, resolve)
        case.assignee = assignee.model_dump()
        case.deadlines = deadlines.model_dump(mode="json")
        data = CaseDispatched(
            assignee=assignee,
            level=case.level or "district",
            deadlines=deadlines,
            dispatched_by=actor,
            category=case.category,
            rule=case.routing_rule,
            channel=case.channel,
            risk=case.risk,
        )
        uow.emit(CASE_DISPATCHED.new(data, case_id=case.case_id, occurred_at=now))

    def _await_dispatch(self, uow: UnitOfWork, case: Case, now: datetime) -> None:
        case.move("await_dispatch", "auto", now, case.routing_reason)
        data = CaseAwaitingDispatch(
            reason=case.routing_reason,
            suggestion=Assignee(**case.suggestion) if case.suggestion else None,
            alternatives=[Assignee(**a) for a in case.alternatives],
            risk=case.risk,
        )
        uow.emit(CASE_AWAITING_DISPATCH.new(data, case_id=case.case_id, occurred_at=now))


def new_case(
    case_id: str, received: CaseReceived, decision: domain.RoutingDecision, now: datetime
) -> Case:
    return Case(
        case_id=case_id,
        channel=received.channel,
        source=received.source,
        category=decision.category,
        risk=received.risk,
        content=received.content,
        status=domain.CaseStatus.RECEIVED,
        level=decision.level,
        suggestion=decision.assignee.model_dump() if decision.assignee else None,
        alternatives=[a.model_dump() for a in decision.alternatives],
        resolve_seconds=int(decision.resolve.total_seconds()) if decision.resolve else None,
        routing_rule=decision.rule,
        routing_reason=decision.reason,
        received=received.model_dump(mode="json"),
        received_at=received.received_at,
        updated_at=now,
        history=[],
    )
