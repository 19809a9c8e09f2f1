"""Deliveries: recorded before the call, sent once per (event, recipient, channel), retried with
backoff on transient errors, held for quiet hours and rate limits, and settled by receipts.

A delivery's life: ``pending`` (recorded, not yet tried) → ``sending`` → ``sent`` (→
``delivered`` / ``undelivered`` by receipt); or ``retrying`` after a transient error, ``queued``
while quiet hours or a rate limit hold it, ``failed`` after a permanent error or the last try.
The timer picks up what is due, so a restart loses nothing: the state is in the rows.

Every try, the first as a later one, takes its tokens and is marked ``sending`` in a
transaction (``start_attempt``), is sent once that has committed (``SendAttempt``), and has its
outcome recorded in a transaction of its own (``record_sent`` / ``record_failure``).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from contracts.events import (
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NotificationFailed,
    NotificationSent,
)
from kit.pii import PhoneVault
from services.notify.gateways.base import Gateway, GatewayError, Message
from services.notify.messages import OutgoingMessage
from services.notify.models import Delivery
from services.notify.rules import Bucket, ChannelName, NotifyRules, sms_segments
from services.notify.unit_of_work import DeliveryRecords, NotifyUnitOfWork

log = logging.getLogger(__name__)

STUCK = timedelta(minutes=5)
"""A delivery ``sending`` this long was cut off mid-call (a crash): it is tried again."""


class ProviderConcurrency:
    """At most ``width`` calls in flight to each provider from this process (its connection
    pool): more messages wait their turn."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._slots: dict[str, threading.BoundedSemaphore] = {}

    def slots(self, provider: str) -> threading.BoundedSemaphore:
        if provider not in self._slots:
            self._slots[provider] = threading.BoundedSemaphore(self.width)
        return self._slots[provider]


@dataclass(frozen=True)
class Sending:
    """How messages leave: the gateway of each channel, notify.yml's limits and retries, the
    vault that seals addresses, and how many calls may be in flight to each provider."""

    rules: NotifyRules
    vault: PhoneVault
    gateways: Mapping[ChannelName, Gateway]
    concurrency: ProviderConcurrency


class Trigger(NamedTuple):
    """An event that names people to tell, and the messages to them."""

    event_id: str
    type: str
    case_id: str | None
    messages: Sequence[OutgoingMessage]


@dataclass(frozen=True)
class SendAttempt:
    """A delivery marked ``sending``: what to send, by which gateway."""

    delivery_id: int
    case_id: str | None
    trigger_event_id: str
    gateway: Gateway
    message: Message


def record(
    records: DeliveryRecords, triggers: Sequence[Trigger], sending: Sending, now: datetime
) -> list[SendAttempt]:
    """Record a delivery per message (once: the same event again records nothing new) and
    start the first try of those that may go now, in the caller's transaction: send them once
    it has committed."""
    messages = [(trigger, message) for trigger in triggers for message in trigger.messages]
    deliveries = records.claim([new_delivery(t, m, sending, now) for t, m in messages])
    ready = [
        delivery
        for delivery, (_, message) in zip(deliveries, messages, strict=True)
        if delivery.status == "pending" and message.hold_until is None
    ]
    # a burst's buckets are locked at once, in one order, before its messages take tokens
    records.hold_buckets(dict(b for d in ready for b in buckets_of(d, sending)), now.timestamp())
    going = []
    for delivery, (_, message) in zip(deliveries, messages, strict=True):
        # a message twice in a burst is one delivery: only its first sight finds it pending
        if delivery.status != "pending":
            continue
        if message.hold_until is not None:
            delivery.status = "queued"
        elif start_attempt(records, delivery, sending, now) == "":
            going.append(delivery)
    records.write_new()
    return [attempt_of(delivery, sending) for delivery in going]


def new_delivery(
    trigger: Trigger, message: OutgoingMessage, sending: Sending, now: datetime
) -> dict[str, Any]:
    segments = sms_segments(message.text) if message.channel == "sms" else 1
    return dict(
        trigger_event_id=trigger.event_id, case_id=trigger.case_id,
        recipient_key=message.recipient_key, recipient_masked=message.masked,
        channel=message.channel, provider=sending.gateways[message.channel].name,
        text=message.text, status="pending", attempts=0, created_at=now,
        trigger_type=trigger.type, template=message.template,
        address_sealed=sending.vault.seal(message.address),
        recipient_fingerprint=message.fingerprint, segments=segments,
        next_attempt_at=message.hold_until or now, updated_at=now, params=dict(message.params),
    )  # fmt: skip


def is_due(delivery: Delivery, now: datetime) -> bool:
    if delivery.status in ("pending", "retrying", "queued"):
        return delivery.next_attempt_at is None or delivery.next_attempt_at <= now
    # cut off mid-call: the provider may or may not have taken it; we try again (see README)
    return delivery.status == "sending" and (delivery.updated_at or now) <= now - STUCK


def start_attempt(
    records: DeliveryRecords, delivery: Delivery, sending: Sending, now: datetime
) -> str:
    """Mark the delivery ``sending`` if the rate limits let it go now: "". Else queue it until
    they do, and name the bucket that holds it back."""
    wait, holder = records.take_tokens(buckets_of(delivery, sending), now.timestamp())
    if wait > 0:
        delivery.status, delivery.next_attempt_at = "queued", now + timedelta(seconds=wait)
        return holder
    delivery.status, delivery.updated_at = "sending", now
    delivery.attempts += 1
    return ""


def attempt_of(delivery: Delivery, sending: Sending) -> SendAttempt:
    """The try of a delivery marked ``sending`` (its id known: recorded already)."""
    message = Message(
        address=sending.vault.open(delivery.address_sealed or ""), text=delivery.text,
        template=delivery.template, params=dict(delivery.params or {}),
        reference=str(delivery.id),
    )  # fmt: skip
    gateway = sending.gateways[delivery.channel]  # type: ignore[index]
    return SendAttempt(delivery.id, delivery.case_id, delivery.trigger_event_id, gateway, message)


def buckets_of(delivery: Delivery, sending: Sending) -> list[tuple[str, Bucket]]:
    """The rate limits a delivery takes a token from: its provider's, its recipient's."""
    provider = sending.gateways[delivery.channel].name  # type: ignore[index]
    return [
        (provider_bucket(provider), sending.rules.provider_limit),
        (recipient_bucket(delivery.recipient_key), sending.rules.recipient_limit),
    ]


def provider_bucket(provider: str) -> str:
    return f"provider:{provider}"


def recipient_bucket(recipient: str) -> str:
    return f"recipient:{recipient}"


def call_provider(attempt: SendAttempt, sending: Sending) -> str | GatewayError:
    """The call to the provider, within the process's share of it: the provider's message id,
    or the error it answered."""
    try:
        with sending.concurrency.slots(attempt.gateway.name):
            return attempt.gateway.send(attempt.message)
    except GatewayError as error:
        return error


def record_sent(uow: NotifyUnitOfWork, delivery_id: int, message_id: str, now: datetime) -> None:
    """Mark it sent, committed before the caller goes on."""
    with uow:
        delivery = uow.deliveries.mark_sent(delivery_id, message_id, now)
        sent = NotificationSent(
            channel=delivery.channel, recipient=delivery.recipient_masked,
            provider=delivery.provider, provider_message_id=message_id,
            trigger_event_id=delivery.trigger_event_id,
        )  # fmt: skip
        uow.emit(NOTIFICATION_SENT.new(sent, case_id=delivery.case_id))
        uow.commit()


def record_failure(
    uow: NotifyUnitOfWork, delivery_id: int, error: GatewayError, rules: NotifyRules, now: datetime
) -> None:
    """A transient error is tried again later, while tries are left; the rest fail the
    delivery, and ``notification.failed`` says so."""
    with uow:
        delivery = uow.deliveries.get(delivery_id)
        delivery.error_code, delivery.last_error = error.code, str(error)[:500]
        delivery.updated_at = now
        if error.transient and delivery.attempts < rules.retry.attempts:
            delivery.status = "retrying"
            delivery.next_attempt_at = now + rules.retry.delay(delivery.attempts, _RNG)
            log.info(
                "delivery %s: %s, try %s later", delivery_id, error.code, delivery.attempts + 1
            )
        else:
            delivery.status, delivery.next_attempt_at = "failed", None
            failed = NotificationFailed(
                channel=delivery.channel, recipient=delivery.recipient_masked,
                provider=delivery.provider, error=f"{error.code}: {error}"[:300],
                attempts=delivery.attempts, trigger_event_id=delivery.trigger_event_id,
            )  # fmt: skip
            uow.emit(NOTIFICATION_FAILED.new(failed, case_id=delivery.case_id))
            log.warning(
                "delivery %s failed after %s tries: %s", delivery_id, delivery.attempts, error.code
            )
        uow.commit()


_RNG = random.Random()
