"""What supervision does, inside a unit of work: follow the cases' steps on their clocks, scan
the clocks for what has come due, issue and answer 督办 orders, keep subscriptions.

Each handler is given the unit of work, the command or events, what configuration it needs and
the time (``now``): it reads no clock of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from contracts.events import Envelope
from contracts.rpc import SubscriptionRequest
from kernel.sla import SlaPolicy
from kit.logs import about
from kit.pii import PhoneVault
from services.supervision import orders, subscriptions
from services.supervision.clocks import ClockBook
from services.supervision.commands import IssueOrder, ReplyToOrder, Unsubscribe
from services.supervision.models import Order, SubscriptionRow
from services.supervision.scanner import CLOCK_SCANS, hold_lease, scan_due
from services.supervision.unit_of_work import SupervisionUnitOfWork

BindQueue = Callable[[str, list[str]], None]
"""Makes a subscriber's queue on the broker, bound to the routing keys given."""


class NoSuchSubscription(Exception):
    """No such subscription of this subscriber."""


def follow(
    uow: SupervisionUnitOfWork,
    events: Sequence[Envelope[Any]],
    policy: SlaPolicy,
    spot_share: float = 0.0,
) -> None:
    """Every step of a case moves its clocks: opened by dispatch, stopped by the unit. A burst
    moves them in one transaction, in the order it came; an event handled before changes
    nothing. ``spot_share``: the on-site resolutions drawn for a spot revisit (抽查回访)."""
    with uow:
        book = ClockBook(uow, policy, spot_share)
        fresh = uow.first_times(event.event_id for event in events)
        new = [event for event in events if fresh.take(event.event_id)]
        book.follow_all(new)
        for event in new:
            with about(case_id=event.case_id, event_id=event.event_id):
                book.apply(event)
        uow.commit()


def scan(
    uow: SupervisionUnitOfWork, policy: SlaPolicy, instance: str, now: datetime, tick: float
) -> int | None:
    """Warnings, overdue alerts, escalation requests: whatever has come due at ``now``. How
    many clocks were looked at; None if another instance holds the scanner's lease."""
    if not hold_lease(uow, instance, now, tick):
        return None
    seen = scan_due(uow, policy, now)
    CLOCK_SCANS.inc()
    return seen


def issue_order(
    uow: SupervisionUnitOfWork, command: IssueOrder, policy: SlaPolicy, now: datetime
) -> Order:
    with uow, about(case_id=command.case_id):
        book = ClockBook(uow, policy)
        order = orders.issue_order(book, command.case_id, command.request, command.issued_by, now)
        uow.commit()
    return order


def reply_to_order(
    uow: SupervisionUnitOfWork, command: ReplyToOrder, policy: SlaPolicy, now: datetime
) -> Order:
    with uow:
        book = ClockBook(uow, policy)
        order = orders.reply_to_order(book, command.order_id, command.reply, command.by, now)
        uow.commit()
    return order


def subscribe(
    uow: SupervisionUnitOfWork,
    request: SubscriptionRequest,
    vault: PhoneVault,
    now: datetime,
    bind_queue: BindQueue,
) -> SubscriptionRow:
    row = subscriptions.new_subscription(request, vault, now)
    if row.queue is not None:
        # before the row: a subscription whose queue could not be made is not kept
        bind_queue(row.queue, subscriptions.routing_keys(request))
    with uow:
        uow.records.add(row)
        uow.commit()
    return row


def unsubscribe(uow: SupervisionUnitOfWork, command: Unsubscribe) -> None:
    wanted, subscriber = command.subscription_id, command.subscriber
    with uow:
        # an id past the database's 64-bit integers names no row (and must not crash)
        row = uow.records.subscription(wanted) if 0 <= wanted < 2**63 else None
        if row is None or row.subscriber != subscriber:
            raise NoSuchSubscription(f"{subscriber} has no subscription {wanted}")
        uow.records.remove(row)
        uow.commit()
