"""Dispatch's entrypoints: route every received case, and carry out every lifecycle action.

Each decodes what it is given, calls its handler (``handlers``, ``queries``) with a unit of
work, grid, the configuration and the time, and answers.
"""

from __future__ import annotations

from typing import Any

from contracts.actions import LIFECYCLE_ACTION
from contracts.events import (
    CASE_RECEIVED,
    GRID_STAFF_CHANGED,
    GRID_UNIT_CHANGED,
    NOTIFY_REVISIT_ANSWERED,
    SUPERVISION_ESCALATION_REQUESTED,
    CaseReceived,
    Envelope,
    EscalationRequested,
    RevisitAnswered,
)
from contracts.listing import CaseListFilters
from contracts.mapping import MAX_OPEN_CASES
from contracts.rpc import DepartmentDuty
from kit.base import ServiceBase
from kit.cache import KeptAnswers
from kit.messaging import on_event, on_event_batch
from kit.providers import ClockProvider, Configured, Database
from kit.rpc import RpcClient, rpc
from kit.sla import HOLIDAYS_FILE
from services import metering  # noqa: F401  (registers the domain's meters)
from services.dispatch import handlers, queries, search
from services.dispatch import lifecycle as lc
from services.dispatch.commands import ActOnCase, DispatchMany
from services.dispatch.config import load_config
from services.dispatch.grid import DutyQuestion, GridOverRpc
from services.dispatch.models import TABLES
from services.dispatch.unit_of_work import SqlDispatchUnitOfWork

GRID_TIMEOUT_SECONDS = 2.0
KEEP_DUTIES_SECONDS = 60.0
"""Duty lists are kept until grid says its duties changed, and this long at most."""


def actor_from(actor: dict[str, Any]) -> lc.Actor:
    """Who acts, as the console says it: ``{user, role, unit}``."""
    return lc.Actor(str(actor["user"]), str(actor.get("role", "staff")), actor.get("unit"))


class DispatchService(ServiceBase):
    name = "dispatch"
    db = Database(TABLES)
    # clocks count on holidays.yml: a newly installed one holds from the next worker on
    config = Configured(load_config, reload_on=[HOLIDAYS_FILE])
    duties = Configured(
        lambda _settings: KeptAnswers[DutyQuestion, list[DepartmentDuty]](KEEP_DUTIES_SECONDS)
    )
    grid = RpcClient("grid", timeout=GRID_TIMEOUT_SECONDS)
    clock = ClockProvider()
    words = Configured(search.loaded)
    """jieba's dictionary, for the search terms of every case received and every ``q``."""

    def _uow(self) -> SqlDispatchUnitOfWork:
        return SqlDispatchUnitOfWork(self.db.store, self.db.consumer)

    def _grid(self) -> GridOverRpc:
        return GridOverRpc(self.grid, self.duties)

    @on_event_batch(CASE_RECEIVED)
    def route_case(self, batch: list[tuple[Envelope[CaseReceived]]]) -> list[None]:
        """转: locate, classify, apply the rules; dispatch when certain, else one click. A
        burst is routed together: grid is asked about all its places in one call, and the
        cases go in in one transaction."""
        events = [event for (event,) in batch]
        handlers.route_cases(self._uow(), events, self._grid(), self.config, self.clock.now())
        return [None] * len(batch)

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
        command = ActOnCase(case_id, wanted, actor_from(actor), command_id)
        view = handlers.act(self._uow(), command, self._grid(), self.config, self.clock.now())
        return view.model_dump(mode="json")

    @rpc
    def dispatch_many(
        self, case_ids: list[str], actor: dict[str, Any], command_id: str | None = None
    ) -> Any:
        """Batch one-click: each case takes its suggestion; an answer per case."""
        command = DispatchMany(case_ids, actor_from(actor), command_id)
        now = self.clock.now()
        return handlers.dispatch_many(self._uow(), command, self._grid(), self.config, now)

    @rpc
    def get_case(self, case_id: str) -> Any:
        view = queries.get_case(self._uow(), case_id)
        return view.model_dump(mode="json") if view else None

    @rpc
    def list_cases(
        self,
        scope: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        page: int = 1,
        page_size: int = 50,
        after: str | None = None,
    ) -> Any:
        """Cases newest first; ``scope`` (unit codes) limits them to the cases those units hold,
        help with, or that lie within them; ``filters`` as ``contracts.listing`` says;
        ``after``: the ``next`` cursor of the page before."""
        wanted = CaseListFilters.model_validate(filters or {})
        asked = queries.ListCases(scope, wanted, page, page_size, after)
        return queries.list_cases(self._uow(), asked, self.clock.now()).model_dump(mode="json")

    @rpc
    def export_cases(
        self,
        scope: list[str] | None = None,
        filters: dict[str, Any] | None = None,
        after: str | None = None,
        page_size: int = queries.MAX_EXPORT_PAGE,
    ) -> Any:
        """The cases of the list's ``scope`` and ``filters`` as an export's rows
        (``contracts.rpc.ExportPage``), newest first, a page after the cursor ``after``;
        no count and no history, so that a long export costs its rows only."""
        wanted = CaseListFilters.model_validate(filters or {})
        asked = queries.ExportCases(scope, wanted, after, int(page_size))
        return queries.export_cases(self._uow(), asked, self.clock.now()).model_dump(mode="json")

    @rpc
    def open_cases(
        self,
        scope: list[str] | None = None,
        unit: str | None = None,
        located: bool = False,
        limit: int = MAX_OPEN_CASES,
    ) -> Any:
        """The open cases in ``scope``, within ``unit``'s reach when given, newest first,
        each as a map's marker shows it: ``{items: [{case_id, lat, lon, risk, status,
        category, overdue, received_at}], capped}``; ``located``: only those with a place."""
        asked = queries.OpenCasesWanted(scope, unit, bool(located), int(limit))
        return queries.open_cases(self._uow(), asked, self.clock.now()).model_dump(mode="json")

    @on_event(SUPERVISION_ESCALATION_REQUESTED)
    def escalate_when_late(self, event: Envelope[EscalationRequested]) -> None:
        """格呼街应、街呼区应: the level above takes a case past its limit."""
        now = self.clock.now()
        handlers.escalate_when_late(self._uow(), event, self._grid(), self.config, now)

    @on_event(NOTIFY_REVISIT_ANSWERED)
    def revisit_by_reply(self, event: Envelope[RevisitAnswered]) -> None:
        """访: the citizen's SMS answer closes the case, or sends it back (返工)."""
        handlers.revisit_by_reply(self._uow(), event, self.config, self.clock.now())

    @on_event(GRID_UNIT_CHANGED, GRID_STAFF_CHANGED)
    def territory_changed(self, event: Envelope[Any]) -> None:
        self.duties.clear()
