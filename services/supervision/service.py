"""Supervision's entrypoints: clocks opened by every dispatch."""

from __future__ import annotations

from typing import Any

from contracts.events import CASE_DISPATCHED, CaseDispatched, Envelope
from kit.base import ServiceBase
from kit.messaging import on_event
from kit.providers import Configured, Database
from kit.rpc import rpc
from kit.settings import Settings
from services.supervision.domain import plan_clocks
from services.supervision.models import TABLES, Clock
from services.supervision.policy import SlaPolicy
from services.supervision.repository import ClockRepository


def load_policy(settings: Settings) -> SlaPolicy:
    return SlaPolicy.from_file(settings.config_dir / "sla.yml")


class SupervisionService(ServiceBase):
    name = "supervision"
    db = Database(TABLES)
    policy = Configured(load_policy)

    @on_event(CASE_DISPATCHED)
    def open_clocks(self, event: Envelope[CaseDispatched]) -> None:
        dispatched = event.data
        with self.db.unit_of_work() as uow:
            if not uow.first_time(event.event_id) or event.case_id is None:
                return
            clocks = ClockRepository(uow.session)
            for plan in plan_clocks(event.occurred_at, dispatched.deadlines, self.policy.warn_at):
                clocks.add(
                    Clock(
                        case_id=event.case_id,
                        kind=plan.kind,
                        level=dispatched.level,
                        assignee_code=dispatched.assignee.code,
                        state="open",
                        started_at=plan.started_at,
                        warn_at=plan.warn_at,
                        due_at=plan.due_at,
                        next_due_at=plan.warn_at,
                    )
                )
            uow.commit()

    @rpc
    def clocks_of(self, case_id: str) -> Any:
        with self.db.read() as session:
            return [
                {"kind": c.kind, "level": c.level, "state": c.state, "due_at": c.due_at.isoformat()}
                for c in ClockRepository(session).for_case(case_id)
            ]
