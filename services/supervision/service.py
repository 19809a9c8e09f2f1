"""Supervision's entrypoints: case clocks and their scan, 督办, subscriptions, 一单考评."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.events import Envelope
from contracts.rpc import OrderReply, OrderRequest, SubscriptionRequest
from kernel.sla import SlaPolicy
from kit.base import ServiceBase
from kit.messaging import on_event_batch
from kit.pii import PhoneVault, load_vault
from kit.providers import Configured, Database
from kit.rpc import every, rpc
from kit.settings import Settings
from kit.sla import load_sla_policy
from kit.topology import bind_subscriber_queue
from services import metering  # noqa: F401  (registers the domain's meters)
from services.supervision import orders, reports, subscriptions
from services.supervision.assessment import AssessmentConfig, Period
from services.supervision.board import overdue_board
from services.supervision.handlers import FOLLOWED, ClockBook
from services.supervision.models import TABLES
from services.supervision.repository import SupervisionRepository
from services.supervision.scanner import Scanner, describe

log = logging.getLogger(__name__)


class NoSuchSubscription(Exception):
    """No such subscription of this subscriber."""


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
    config = Configured(load_config)
    settings = Configured(lambda settings: settings)

    @on_event_batch(*FOLLOWED)
    def follow_case(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """Every step of a case moves its clocks: opened by dispatch, stopped by the unit. A
        burst moves them in one transaction, in the order it came."""
        with self.db.unit_of_work() as uow:
            book = ClockBook(uow, self.config.policy)
            fresh = uow.first_times(event.event_id for (event,) in batch)
            events = [event for (event,) in batch if fresh.take(event.event_id)]
            book.follow_all(events)
            for event in events:
                book.apply(event)
            uow.commit()
        return [None] * len(batch)

    @every(lambda settings: settings.supervision_tick_seconds)
    def scan(self) -> None:
        """Warnings, overdue alerts, escalation requests: whatever has come due."""
        now = datetime.now(UTC)
        scanner = Scanner(self.db.store, self.config.policy, self.config.instance)
        if scanner.may_scan(now, self.settings.supervision_tick_seconds):
            scanner.scan(now)

    # --- 督办 ---

    @rpc
    def issue_order(self, case_id: str, order: dict[str, Any], issued_by: str) -> Any:
        request = OrderRequest.model_validate(order)
        with self.db.unit_of_work() as uow:
            book = ClockBook(uow, self.config.policy)
            issued = orders.issue_order(book, case_id, request, issued_by, datetime.now(UTC))
            uow.commit()
            return orders.view_of(issued)

    @rpc
    def reply_to_order(self, order_id: str, reply: dict[str, Any], by: str) -> Any:
        answer = OrderReply.model_validate(reply)
        with self.db.unit_of_work() as uow:
            book = ClockBook(uow, self.config.policy)
            order = orders.reply_to_order(book, order_id, answer.reply, by, datetime.now(UTC))
            uow.commit()
            return orders.view_of(order)

    @rpc
    def orders_of(self, case_id: str) -> Any:
        with self.db.read() as session:
            return [orders.view_of(o) for o in SupervisionRepository(session).orders_of(case_id)]

    @rpc
    def clocks_of(self, case_id: str) -> Any:
        with self.db.read() as session:
            return [describe(c) for c in SupervisionRepository(session).clocks_of(case_id)]

    @rpc
    def board(self, scope: list[str] | None = None) -> Any:
        """超时看板: late cases by the unit holding them, counted by risk; ``scope`` (unit
        codes) keeps the units' own and those lying within them."""
        with self.db.read() as session:
            late = SupervisionRepository(session).late_clocks()
            return overdue_board(late, scope)

    # --- subscriptions ---

    @rpc
    def subscribe(self, request: dict[str, Any]) -> Any:
        wanted = SubscriptionRequest.model_validate(request)
        row = subscriptions.new_subscription(wanted, self.config.vault, datetime.now(UTC))
        if row.queue is not None:
            # before the row: a subscription whose queue could not be made is not kept
            bind_subscriber_queue(
                self.settings.amqp_uri,
                row.queue,
                subscriptions.routing_keys(wanted),
                self.settings.amqp_tls,
            )
        with self.db.unit_of_work() as uow:
            SupervisionRepository(uow.session).add(row)
            uow.commit()
            return subscriptions.view_of(row)

    @rpc
    def unsubscribe(self, subscription_id: int, subscriber: str) -> None:
        with self.db.unit_of_work() as uow:
            repo = SupervisionRepository(uow.session)
            # an id past the database's 64-bit integers names no row (and must not crash)
            row = repo.subscription(subscription_id) if 0 <= subscription_id < 2**63 else None
            if row is None or row.subscriber != subscriber:
                raise NoSuchSubscription(f"{subscriber} has no subscription {subscription_id}")
            repo.remove(row)
            uow.commit()

    @rpc
    def subscriptions(self, subscriber: str | None = None) -> Any:
        with self.db.read() as session:
            rows = SupervisionRepository(session).subscriptions(subscriber)
            return [subscriptions.view_of(row) for row in rows]

    # --- 一单考评 ---

    @rpc
    def assessment(self, period: str, kind: str | None = None) -> Any:
        """Per unit and department: on-time rates, returns, reopens, satisfaction, score."""
        wanted = Period.parse(period)
        with self.db.read() as session:
            rows = reports.assess_period(session, wanted, self.config.assessment, datetime.now(UTC))
        return [row.as_dict() for row in rows if kind is None or row.assignee_kind == kind]
