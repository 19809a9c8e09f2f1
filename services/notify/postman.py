"""Deliveries: recorded before the call, sent once per (event, recipient, channel), retried with
backoff on transient errors, held for quiet hours and rate limits, and settled by receipts.

A delivery's life: ``pending`` (recorded, not yet tried) → ``sending`` → ``sent`` (→
``delivered`` / ``undelivered`` by receipt); or ``retrying`` after a transient error, ``queued``
while quiet hours or a rate limit hold it, ``failed`` after a permanent error or the last try.
The timer picks up what is due, so a restart loses nothing: the state is in the rows.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from contracts.events import (
    NOTIFICATION_FAILED,
    NOTIFICATION_SENT,
    NotificationFailed,
    NotificationSent,
)
from kit.db import Store
from kit.pii import PhoneVault
from services.notify.gateways.base import Gateway, GatewayError, Message, Receipt
from services.notify.models import Delivery
from services.notify.repository import DeliveryRepository, Due
from services.notify.rules import Bucket, ChannelName, NotifyRules, sms_segments

log = logging.getLogger(__name__)

STUCK = timedelta(minutes=5)
"""A delivery ``sending`` this long was cut off mid-call (a crash): it is tried again."""


@dataclass(frozen=True)
class Letter:
    """One message to one recipient by one channel, ready to record."""

    recipient_key: str
    """Who, without a number in it: ``department:D-HBJ``, ``person:P-01``, ``citizen``…"""
    address: str
    masked: str
    channel: ChannelName
    template: str
    text: str
    params: Mapping[str, str]
    fingerprint: str | None = None
    hold_until: datetime | None = None
    """Quiet hours: not before then."""


class Lanes:
    """At most ``width`` calls in flight to each provider from this process."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._lanes: dict[str, threading.BoundedSemaphore] = {}

    def lane(self, provider: str) -> threading.BoundedSemaphore:
        if provider not in self._lanes:
            self._lanes[provider] = threading.BoundedSemaphore(self.width)
        return self._lanes[provider]


class Trigger(NamedTuple):
    """An event that names people to tell, and their letters."""

    event_id: str
    type: str
    case_id: str | None
    letters: Sequence[Letter]


@dataclass(frozen=True)
class Try:
    """A delivery marked ``sending``: what to send, by which gateway."""

    delivery_id: int
    gateway: Gateway
    message: Message


@dataclass
class Postman:
    store: Store
    rules: NotifyRules
    gateways: Mapping[ChannelName, Gateway]
    vault: PhoneVault
    lanes: Lanes

    def record(self, uow: Any, triggers: Sequence[Trigger], now: datetime) -> list[Try]:
        """Write a delivery per letter (once: the same event again writes nothing new) and take
        the first try of those that may go now, in the caller's transaction: send them once it
        has committed."""
        repo, going = DeliveryRepository(uow.session), []
        letters = [(trigger, letter) for trigger in triggers for letter in trigger.letters]
        deliveries = repo.claim([self._delivery(t, letter, now) for t, letter in letters])
        ready = [d for d, (_, letter) in zip(deliveries, letters, strict=True)
                 if d.status == "pending" and letter.hold_until is None]  # fmt: skip
        repo.hold_buckets(dict(b for d in ready for b in self._buckets(d)), time.time())
        for (_trigger, letter), delivery in zip(letters, deliveries, strict=True):
            if delivery.status == "pending" and letter.hold_until is None:
                if not self._take(repo, delivery, now):
                    going.append(delivery)
            elif delivery.status == "pending":
                delivery.status = "queued"
        repo.write_new()
        return [self._try(delivery) for delivery in going]

    def _delivery(self, trigger: Trigger, letter: Letter, now: datetime) -> dict[str, Any]:
        return dict(
            trigger_event_id=trigger.event_id, case_id=trigger.case_id,
            recipient_key=letter.recipient_key, recipient_masked=letter.masked,
            channel=letter.channel, provider=self.gateways[letter.channel].name, text=letter.text,
            status="pending", attempts=0, created_at=now, trigger_type=trigger.type,
            template=letter.template, address_sealed=self.vault.seal(letter.address),
            recipient_fingerprint=letter.fingerprint, segments=_segments(letter),
            next_attempt_at=letter.hold_until or now, updated_at=now, params=dict(letter.params),
        )  # fmt: skip

    def attempt(self, delivery_id: int, now: datetime | None = None) -> str:
        """One try of a delivery that is due (nothing if another worker has it); the rate
        limit's bucket that held it back, or "" if it went or was not due."""
        now = now or datetime.now(UTC)
        with self.store.unit_of_work("postman") as uow:
            repo = DeliveryRepository(uow.session)
            delivery = repo.lock(delivery_id)
            if delivery is None or not _due(delivery, now):
                return ""
            taken = self._take_in(repo, delivery, now)
            uow.commit()
        if isinstance(taken, Try):
            self.send(taken)
            return ""
        return taken

    def try_due(self, now: datetime) -> int:
        """Try what is due; once a bucket holds one delivery back, the others that need the
        same bucket wait for the next round instead of each asking it again. How many went."""
        held: set[str] = set()
        tried = 0
        for due in self.due(now):
            if {self._provider_key(due.provider), self._recipient_key(due.recipient_key)} & held:
                continue
            holder = self.attempt(due.id)
            if holder:
                held.add(holder)
            tried += 1
        return tried

    def send(self, taken: Try) -> None:
        """The call to the provider (a lane of this process's few), then its outcome."""
        try:
            with self.lanes.lane(taken.gateway.name):
                message_id = taken.gateway.send(taken.message)
        except GatewayError as error:
            self._failed_try(taken.delivery_id, error, datetime.now(UTC))
        else:
            self._sent(taken.delivery_id, message_id, datetime.now(UTC))

    def due(self, now: datetime, limit: int = 200) -> list[Due]:
        with self.store.read() as session:
            return DeliveryRepository(session).due(now, now - STUCK, limit)

    def settle_receipts(self, provider: str, receipts: Sequence[Receipt]) -> int:
        """Delivery receipts onto their records; how many matched."""
        matched = 0
        with self.store.unit_of_work("receipts") as uow:
            repo = DeliveryRepository(uow.session)
            for receipt in receipts:
                delivery = repo.by_provider_id(provider, receipt.provider_message_id)
                if delivery is None:
                    continue
                delivery.receipt_status = "delivered" if receipt.delivered else "undelivered"
                delivery.receipt_code, delivery.receipt_at = receipt.code, receipt.at
                delivery.status = delivery.receipt_status
                matched += 1
            uow.commit()
        return matched

    # --- the steps of a try ---

    def _take_in(self, repo: DeliveryRepository, delivery: Delivery, now: datetime) -> Try | str:
        """Mark the delivery ``sending`` if the rate limits let it go now, else queue it and
        name the bucket that holds it back."""
        return self._take(repo, delivery, now) or self._try(delivery)

    def _take(self, repo: DeliveryRepository, delivery: Delivery, now: datetime) -> str:
        """As ``_take_in``, without building the message: "" when it may go."""
        wait, holder = repo.take_tokens(self._buckets(delivery), time.time())
        if wait > 0:
            delivery.status, delivery.next_attempt_at = "queued", now + timedelta(seconds=wait)
            return holder
        delivery.status, delivery.updated_at = "sending", now
        delivery.attempts += 1
        return ""

    def _try(self, delivery: Delivery) -> Try:
        """The try of a delivery marked ``sending`` (its id known: written already)."""
        message = Message(
            address=self.vault.open(delivery.address_sealed or ""), text=delivery.text,
            template=delivery.template, params=dict(delivery.params or {}),
            reference=str(delivery.id),
        )  # fmt: skip
        return Try(delivery.id, self.gateways[delivery.channel], message)  # type: ignore[index]

    def _buckets(self, delivery: Delivery) -> list[tuple[str, Bucket]]:
        """The rate limits a delivery takes a token from: its provider's, its recipient's."""
        provider = self.gateways[delivery.channel].name  # type: ignore[index]
        return [
            (self._provider_key(provider), self.rules.provider_limit),
            (self._recipient_key(delivery.recipient_key), self.rules.recipient_limit),
        ]

    @staticmethod
    def _provider_key(provider: str) -> str:
        return f"provider:{provider}"

    @staticmethod
    def _recipient_key(recipient: str) -> str:
        return f"recipient:{recipient}"

    def _sent(self, delivery_id: int, message_id: str, now: datetime) -> None:
        """Mark it sent, committed before the caller goes on."""
        with self.store.unit_of_work("postman") as uow:
            delivery = DeliveryRepository(uow.session).mark_sent(delivery_id, message_id, now)
            sent = NotificationSent(
                channel=delivery.channel, recipient=delivery.recipient_masked,
                provider=delivery.provider, provider_message_id=message_id,
                trigger_event_id=delivery.trigger_event_id,
            )  # fmt: skip
            uow.emit(NOTIFICATION_SENT.new(sent, case_id=delivery.case_id))
            uow.commit()

    def _failed_try(self, delivery_id: int, error: GatewayError, now: datetime) -> None:
        with self.store.unit_of_work("postman") as uow:
            delivery = DeliveryRepository(uow.session).get(delivery_id)
            delivery.error_code, delivery.last_error = error.code, str(error)[:500]
            delivery.updated_at = now
            if error.transient and delivery.attempts < self.rules.retry.attempts:
                delivery.status = "retrying"
                delivery.next_attempt_at = now + self.rules.retry.delay(delivery.attempts, _RNG)
                log.info(
                    "delivery %s: %s, try %s again later",
                    delivery_id,
                    error.code,
                    delivery.attempts + 1,
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
                    "delivery %s failed after %s tries: %s",
                    delivery_id,
                    delivery.attempts,
                    error.code,
                )
            uow.commit()


_RNG = random.Random()


def _due(delivery: Delivery, now: datetime) -> bool:
    if delivery.status in ("pending", "retrying", "queued"):
        return delivery.next_attempt_at is None or delivery.next_attempt_at <= now
    # cut off mid-call: the provider may or may not have taken it; we try again (see README)
    return delivery.status == "sending" and (delivery.updated_at or now) <= now - STUCK


def _segments(letter: Letter) -> int:
    return sms_segments(letter.text) if letter.channel == "sms" else 1
