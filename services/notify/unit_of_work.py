"""Notify's unit of work: the delivery records as the handlers see them, and one transaction
around them.

``NotifyUnitOfWork`` is what a handler is given; ``SqlNotifyUnitOfWork`` is the database's, and
``tests/support/fake_notify.py`` has one in memory for the handlers' unit tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy.orm import Session

from contracts.events import Envelope
from kernel.duty import Leave
from kit.db import FirstTimes, Store
from kit.unit_of_work import ServiceUnitOfWork
from services.notify.models import Delivery, FollowedCase, Revisit
from services.notify.repository import DeliveryRepository, Due, Sent
from services.notify.rules import Bucket


class DeliveryRecords(Protocol):
    """Deliveries, the rate buckets they take tokens from, the revisit questions asked and the
    cases notify follows (``DeliveryRepository`` says what each promises)."""

    def claim(self, deliveries: Sequence[dict[str, Any]]) -> list[Delivery]: ...

    def write_new(self) -> None: ...

    def get(self, delivery_id: int) -> Delivery: ...

    def lock(self, delivery_id: int) -> Delivery | None: ...

    def mark_sent(self, delivery_id: int, message_id: str, at: datetime) -> Sent: ...

    def due(self, now: datetime, stuck_before: datetime, limit: int) -> list[Due]: ...

    def by_provider_id(self, provider: str, message_id: str) -> Delivery | None: ...

    def of_case(self, case_id: str) -> list[Delivery]: ...

    def take_tokens(
        self, buckets: Sequence[tuple[str, Bucket]], now: float
    ) -> tuple[float, str]: ...

    def hold_buckets(self, buckets: Mapping[str, Bucket], now: float) -> None: ...

    def ask(self, case_id: str, fingerprint: str, at: datetime) -> None: ...

    def open_revisit(self, fingerprint: str) -> Revisit | None: ...

    def follow_new(self, cases: Iterable[FollowedCase]) -> set[str]: ...

    def cases(self, case_ids: Iterable[str]) -> dict[str, FollowedCase]: ...

    def record_leave(self, leave: Leave) -> None: ...

    def cancel_leave(self, leave_id: str) -> None: ...

    def leaves(self, now: datetime) -> list[Leave]: ...


class NotifyUnitOfWork(Protocol):
    """One transaction: the deliveries, the events consumed and the events emitted, stored
    together on ``commit`` or not at all (leaving without a commit rolls back). ``read`` looks
    at what is committed without starting one (for work done before it, or instead of it)."""

    @property
    def deliveries(self) -> DeliveryRecords: ...

    def read(self) -> AbstractContextManager[DeliveryRecords]: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        """The ids this consumer had not handled yet, now recorded as handled."""
        ...

    def emit(self, envelope: Envelope[Any]) -> None:
        """Queue an event; it leaves only if the unit of work commits."""
        ...

    def commit(self) -> None: ...


class SqlNotifyUnitOfWork(ServiceUnitOfWork):
    """The notify database's unit of work: ``kit.db``'s, for ``consumer``, with the delivery
    repository on its session. One ``with`` block at a time; it can begin again after."""

    deliveries: DeliveryRepository

    def __init__(self, store: Store, consumer: str) -> None:
        super().__init__(lambda: store.unit_of_work(consumer))
        self.store = store

    @contextmanager
    def _reading(self) -> Iterator[DeliveryRecords]:
        with self.store.read() as session:
            yield DeliveryRepository(session)

    def read(self) -> AbstractContextManager[DeliveryRecords]:
        return self._reading()

    def on_session(self, session: Session, during: ExitStack) -> None:
        self.deliveries = DeliveryRepository(session)
