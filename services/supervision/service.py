"""Supervision's entrypoints: case clocks and their scan, 督办, subscriptions, 一单考评."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.events import Envelope
from contracts.rpc import AccountabilityRequest, OrderReply, OrderRequest, SubscriptionRequest
from kernel.sla import SlaPolicy
from kit.base import ServiceBase
from kit.messaging import on_event_batch
from kit.pii import PhoneVault, load_vault
from kit.providers import ClockProvider, Configured, Database
from kit.rpc import every, rpc
from kit.settings import Settings
from kit.sla import HOLIDAYS_FILE, load_sla_policy
from kit.topology import bind_subscriber_queue
from services import metering  # noqa: F401  (registers the domain's meters)
from services.supervision import accountability, handlers, orders, reports, subscriptions
from services.supervision.assessment import AssessmentConfig, Period
from services.supervision.board import PAGE_SIZE, board_of, board_page
from services.supervision.board_rows import late_counts, late_page
from services.supervision.clocks import FOLLOWED
from services.supervision.commands import IssueOrder, ReplyToOrder, Unsubscribe
from services.supervision.models import TABLES
from services.supervision.people import people_in
from services.supervision.repository import SupervisionRepository
from services.supervision.revisits import revisit_queue
from services.supervision.scanner import describe
from services.supervision.unit_of_work import SqlSupervisionUnitOfWork


@dataclass(frozen=True)
class SupervisionConfig:
    policy: SlaPolicy
    assessment: AssessmentConfig
    vault: PhoneVault
    instance: str
    """This process's name on the SQLite scanner lease."""


def load_config(settings: Settings) -> SupervisionConfig:
    return SupervisionConfig(
        load_sla_policy(settings.config_dir),
        AssessmentConfig.from_file(settings.config_dir / "assessment.yml"),
        load_vault(settings),
        f"supervision-{uuid.uuid4().hex[:8]}",
    )


class SupervisionService(ServiceBase):
    name = "supervision"
    db = Database(TABLES)
    # clocks count on holidays.yml: a newly installed one holds from the next worker on
    config = Configured(load_config, reload_on=[HOLIDAYS_FILE])
    settings = Configured(lambda settings: settings)
    clock = ClockProvider()

    def _uow(self, autoflush: bool = True) -> SqlSupervisionUnitOfWork:
        return SqlSupervisionUnitOfWork(self.db.store, self.db.consumer, autoflush)

    def _now(self) -> datetime:
        now: datetime = self.clock.now()
        return now

    @on_event_batch(*FOLLOWED)
    def follow_case(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """Every step of a case moves its clocks; a burst in one transaction."""
        events, config = [event for (event,) in batch], self.config
        handlers.follow(self._uow(), events, config.policy, config.assessment.on_site.spot_revisit)
        return [None] * len(batch)

    @every(lambda settings: settings.supervision_tick_seconds)
    def scan(self) -> None:
        """Warnings, overdue alerts, escalation requests: whatever has come due."""
        tick = self.settings.supervision_tick_seconds
        handlers.scan(
            self._uow(autoflush=False), self.config.policy, self.config.instance, self._now(), tick
        )

    # --- 督办 ---

    @rpc
    def issue_order(self, case_id: str, order: dict[str, Any], issued_by: str) -> Any:
        command = IssueOrder(case_id, OrderRequest.model_validate(order), issued_by)
        issued = handlers.issue_order(self._uow(), command, self.config.policy, self._now())
        return orders.view_of(issued)

    @rpc
    def reply_to_order(self, order_id: str, reply: dict[str, Any], by: str) -> Any:
        command = ReplyToOrder(order_id, OrderReply.model_validate(reply).reply, by)
        replied = handlers.reply_to_order(self._uow(), command, self.config.policy, self._now())
        return orders.view_of(replied)

    @rpc
    def orders_of(self, case_id: str) -> Any:
        with self.db.read() as session:
            return [orders.view_of(o) for o in SupervisionRepository(session).orders_of(case_id)]

    @rpc
    def clocks_of(self, case_id: str) -> Any:
        with self.db.read() as session:
            return [describe(c) for c in SupervisionRepository(session).clocks_of(case_id)]

    @rpc
    def board(
        self, scope: list[str] | None = None, after: str | None = None, size: int = PAGE_SIZE
    ) -> Any:
        """超时看板: late cases by the unit holding them, counted by risk; ``scope`` (unit
        codes) keeps the units' own and those lying within them. A page of the cases at a
        time: ``after`` is the ``next`` cursor of the page before."""
        page = board_page(after, size)
        with self.db.read() as session:
            counts = late_counts(session, scope)
            return board_of(counts, late_page(session, scope, page), page.size)

    # --- subscriptions ---

    @rpc
    def subscribe(self, request: dict[str, Any]) -> Any:
        wanted = SubscriptionRequest.model_validate(request)
        row = handlers.subscribe(
            self._uow(), wanted, self.config.vault, self._now(), self._bind_queue
        )
        return subscriptions.view_of(row)

    def _bind_queue(self, queue: str, routing_keys: list[str]) -> None:
        settings = self.settings
        bind_subscriber_queue(settings.amqp_uri, queue, routing_keys, settings.amqp_tls)

    @rpc
    def unsubscribe(self, subscription_id: int, subscriber: str) -> None:
        handlers.unsubscribe(self._uow(), Unsubscribe(subscription_id, subscriber))

    @rpc
    def subscriptions(self, subscriber: str | None = None) -> Any:
        with self.db.read() as session:
            rows = SupervisionRepository(session).subscriptions(subscriber)
            return [subscriptions.view_of(row) for row in rows]

    @rpc
    def revisits(self, page: int = 1, page_size: int = 50) -> Any:
        """待回访: concluded cases waiting for an operator's call, the nearest limit first."""
        with self.db.read() as session:
            return revisit_queue(session, page, page_size)

    # --- 一单考评 ---

    @rpc
    def assessment(self, period: str, kind: str | None = None) -> Any:
        """Per unit and department: on-time rates, returns, reopens, satisfaction, score; summed
        from the counters of the period's days."""
        wanted, config = Period.parse(period), self.config.assessment
        with self.db.read() as session:
            return reports.counted_assessment(session, wanted, kind, config)

    @rpc
    def people(self, period: str) -> Any:
        """Per person (承办人, 网格员): the steps they took in the period, on time or late."""
        wanted = Period.parse(period)
        with self.db.read() as session:
            return people_in(session, wanted)

    @rpc
    def open_accountability(self, order_id: str, record: dict[str, Any], by: str) -> Any:
        """问责记录 on a red card (红牌督办): who, what, the decision."""
        request = AccountabilityRequest.model_validate(record)
        opened = accountability.open_record(self._uow(), order_id, request, by, self._now())
        return accountability.view_of(opened)

    @rpc
    def accountability(self, period: str) -> Any:
        """The accountability records opened in the period, the newest first."""
        wanted = Period.parse(period)
        with self.db.read() as session:
            return accountability.records_in(session, wanted)
