"""Notify's unit of work in memory: deliveries, rate buckets, revisits and followed cases in
dicts, events kept in a list; and a gateway that answers as a test tells it. The handlers are
tested with them with no broker and no database.

It keeps the promises of ``SqlNotifyUnitOfWork`` the handlers rely on: a delivery is recorded
once per (event, recipient, channel), an event is handled once per consumer, rows and events
count only once committed, and leaving without a commit puts everything back.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from contracts.events import Envelope
from kernel.duty import Leave
from kit.db import FirstTimes
from services.notify.domain import take_tokens
from services.notify.gateways.base import GatewayChannel, GatewayError, Message
from services.notify.models import Base, Delivery, FollowedCase, RateBucket, Revisit
from services.notify.repository import ONCE, Due, Sent
from services.notify.rules import Bucket
from services.notify.unit_of_work import DeliveryRecords

Row = TypeVar("Row", bound=Base)


def _copy(row: Row) -> Row:
    """A row apart from the one it copies, as another transaction reads it."""
    columns = row.__table__.columns
    return type(row)(**{c.key: copy.deepcopy(getattr(row, c.key)) for c in columns})


def _once(delivery: Mapping[str, Any] | Delivery) -> tuple[Any, ...]:
    if isinstance(delivery, Delivery):
        return tuple(getattr(delivery, column) for column in ONCE)
    return tuple(delivery[column] for column in ONCE)


@dataclass
class FakeDeliveryRecords:
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    buckets: dict[str, RateBucket] = field(default_factory=dict)
    revisits: dict[str, Revisit] = field(default_factory=dict)
    followed: dict[str, FollowedCase] = field(default_factory=dict)
    leave: dict[str, Leave] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _new: list[Delivery] = field(default_factory=list)

    def copy(self) -> FakeDeliveryRecords:
        return FakeDeliveryRecords(
            {key: _copy(row) for key, row in self.deliveries.items()},
            {key: _copy(row) for key, row in self.buckets.items()},
            {key: _copy(row) for key, row in self.revisits.items()},
            {key: _copy(row) for key, row in self.followed.items()},
            dict(self.leave),
            self.ids,
        )

    def claim(self, deliveries: Sequence[dict[str, Any]]) -> list[Delivery]:
        found = {_once(d): d for d in self.deliveries.values()}
        for row in deliveries:
            if _once(row) not in found:
                found[_once(row)] = delivery = Delivery(**row)
                self._new.append(delivery)
        return [found[_once(row)] for row in deliveries]

    def write_new(self) -> None:
        new, self._new = sorted(self._new, key=_once), []
        for delivery in new:
            delivery.id = next(self.ids)
            self.deliveries[delivery.id] = delivery

    def get(self, delivery_id: int) -> Delivery:
        return self.deliveries[delivery_id]

    def lock(self, delivery_id: int) -> Delivery | None:
        return self.deliveries.get(delivery_id)

    def mark_sent(self, delivery_id: int, message_id: str, at: datetime) -> Sent:
        delivery = self.deliveries[delivery_id]
        delivery.status, delivery.provider_message_id = "sent", message_id
        delivery.sent_at = delivery.updated_at = at
        delivery.next_attempt_at = delivery.last_error = None
        return Sent(
            delivery.channel, delivery.recipient_masked, delivery.provider,
            delivery.trigger_event_id, delivery.case_id,
        )  # fmt: skip

    def due(self, now: datetime, stuck_before: datetime, limit: int) -> list[Due]:
        due = [
            d
            for d in self.deliveries.values()
            if (d.status in ("pending", "retrying", "queued") and d.next_attempt_at is not None
                and d.next_attempt_at <= now)
            or (d.status == "sending" and d.updated_at is not None and d.updated_at <= stuck_before)
        ]  # fmt: skip
        due.sort(key=lambda d: (d.next_attempt_at or now, d.id))
        return [Due(d.id, d.provider, d.recipient_key) for d in due[:limit]]

    def by_provider_id(self, provider: str, message_id: str) -> Delivery | None:
        return next(
            (d for d in self.deliveries.values()
             if (d.provider, d.provider_message_id) == (provider, message_id)),
            None,
        )  # fmt: skip

    def of_case(self, case_id: str) -> list[Delivery]:
        return [self.deliveries[i] for i in sorted(self.deliveries)
                if self.deliveries[i].case_id == case_id]  # fmt: skip

    def take_tokens(self, buckets: Sequence[tuple[str, Bucket]], now: float) -> tuple[float, str]:
        self.hold_buckets(dict(buckets), now)
        return take_tokens([self.buckets[key] for key, _ in buckets], buckets, now)

    def hold_buckets(self, buckets: Mapping[str, Bucket], now: float) -> None:
        for key, bucket in buckets.items():
            if key not in self.buckets:
                self.buckets[key] = RateBucket(key=key, tokens=bucket.burst, updated=now)

    def ask(self, case_id: str, fingerprint: str, at: datetime) -> None:
        if case_id not in self.revisits:
            self.revisits[case_id] = Revisit(case_id=case_id, fingerprint=fingerprint, asked_at=at)

    def open_revisit(self, fingerprint: str) -> Revisit | None:
        waiting = [r for r in self.revisits.values()
                   if r.fingerprint == fingerprint and r.answered_at is None]  # fmt: skip
        return max(waiting, key=lambda r: r.asked_at, default=None)

    def follow_new(self, cases: Iterable[FollowedCase]) -> set[str]:
        written = set()
        for case in sorted(cases, key=lambda case: case.case_id):
            if case.case_id not in self.followed:
                self.followed[case.case_id] = _copy(case)
                written.add(case.case_id)
        return written

    def cases(self, case_ids: Iterable[str]) -> dict[str, FollowedCase]:
        return {case_id: self.followed[case_id] for case_id in case_ids if case_id in self.followed}

    def record_leave(self, leave: Leave) -> None:
        self.leave.setdefault(leave.leave_id, leave)

    def cancel_leave(self, leave_id: str) -> None:
        self.leave.pop(leave_id, None)

    def leaves(self, now: datetime) -> list[Leave]:
        return sorted((x for x in self.leave.values() if x.ends > now), key=lambda x: x.starts)


class FakeNotifyUnitOfWork:
    """``deliveries`` is what the handlers see inside the unit of work; ``committed`` holds
    what is stored, ``handled`` the events consumed and ``events`` what the committed units
    of work emitted."""

    def __init__(self) -> None:
        self.committed = FakeDeliveryRecords()
        self.deliveries = self.committed.copy()
        self.handled: set[str] = set()
        self.events: list[Envelope[Any]] = []
        self.commits = 0
        self._handling: set[str] = set()
        self._emitted: list[Envelope[Any]] = []

    @contextmanager
    def _reading(self) -> Iterator[DeliveryRecords]:
        yield self.committed.copy()

    def read(self) -> AbstractContextManager[DeliveryRecords]:
        return self._reading()

    def __enter__(self) -> Self:
        self.deliveries = self.committed.copy()
        self._handling, self._emitted = set(), []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # What was not committed is gone, as a rolled-back transaction's rows are.
        self.deliveries = self.committed.copy()
        self._handling, self._emitted = set(), []

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        new = set(event_ids) - self.handled - self._handling
        self._handling |= new
        return FirstTimes(new)

    def emit(self, envelope: Envelope[Any]) -> None:
        self._emitted.append(envelope)

    def commit(self) -> None:
        self.committed = self.deliveries.copy()
        self.handled |= self._handling
        self.events += self._emitted
        self._handling, self._emitted = set(), []
        self.commits += 1

    def emitted(self, event_type: str) -> list[Envelope[Any]]:
        return [event for event in self.events if event.type == event_type]


class FakeGateway:
    """A provider that takes every message, or answers with the errors it is given first."""

    def __init__(self, name: str = "fake", channel: GatewayChannel = "sms") -> None:
        self.name = name
        self.channel = channel
        self.errors: list[GatewayError] = []
        self.sent: list[Message] = []
        self.calls = 0

    def send(self, message: Message) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(message)
        return f"msg-{len(self.sent)}"
