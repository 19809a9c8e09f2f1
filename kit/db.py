"""SQLAlchemy 2 without the framework: a service's store and its unit of work.

A unit of work commits the business rows, the outbox rows of the events they cause and the
``event_id`` it consumed in one transaction. Engines live in ``kit.engine``, the kit's tables
and time type in ``kit.tables``, inserts that leave uniqueness to the database in
``kit.writes``; all are importable from here too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, cast

from sqlalchemy import Select, Update, func, insert, select, text, update
from sqlalchemy.orm import Session

from contracts.events import Envelope
from kit import metrics
from kit.engine import (
    DEFAULT_POOL_SIZE,
    green_driver,
    make_engine,
    scratch_postgres,
    store_unavailable,
)
from kit.tables import KitTables, UtcDateTime, kit_tables, utcnow
from kit.writes import (
    dialect_insert,
    insert_all_if_absent,
    insert_if_absent,
    inserted_if_absent,
    made_and_locked,
)

__all__ = [
    "DEFAULT_POOL_SIZE",
    "FirstTimes",
    "KitTables",
    "OutboxBatch",
    "OutboxListener",
    "Store",
    "UnitOfWork",
    "UtcDateTime",
    "dialect_insert",
    "green_driver",
    "insert_all_if_absent",
    "insert_if_absent",
    "inserted_if_absent",
    "kit_tables",
    "made_and_locked",
    "make_engine",
    "scratch_postgres",
    "store_unavailable",
    "utcnow",
]

OutboxRow = tuple[int, str, str, str]


@dataclass(frozen=True)
class OutboxBatch:
    """Rows ``(id, event_id, type, body)`` claimed by a relay, and how to mark them sent."""

    rows: list[OutboxRow]
    mark_sent: Callable[[list[int]], None]


class OutboxListener(Protocol):
    def outbox_committed(self) -> None: ...


class Store:
    """A service's database: where units of work and reads begin."""

    def __init__(
        self, url: str, service: str, tables: KitTables, *, pool_size: int = DEFAULT_POOL_SIZE
    ) -> None:
        self.url = url
        self.service = service
        self.tables = tables
        self.is_sqlite = url.startswith("sqlite")
        self.engine = make_engine(url, service, pool_size=pool_size)
        self.read_engine = (
            make_engine(url, service, immediate=False) if self.is_sqlite else self.engine
        )
        # SQLite allows one writer; a green lock queues our own greenlets instead of letting
        # one block the whole hub in sqlite's busy wait while the holder cannot run.
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self.listeners: list[OutboxListener] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, consumer: str = "") -> UnitOfWork:
        return UnitOfWork(self, consumer)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.read_engine) as session:
            yield session

    # --- the outbox, for the relay ---

    @contextmanager
    def outbox_batch(self, limit: int) -> Iterator[OutboxBatch]:
        """The oldest unsent events, claimed for one relay until the batch is marked.

        On PostgreSQL the rows are locked ``FOR UPDATE SKIP LOCKED`` for as long as the batch
        lives, so the relays of several instances share the outbox without publishing a row
        twice. SQLite has one relay per database file (``OutboxRelay`` holds a file lock).
        """
        if self.is_sqlite:
            with self.read_engine.connect() as connection:
                rows = [
                    cast(OutboxRow, tuple(row)) for row in connection.execute(self._unsent(limit))
                ]
                connection.rollback()
            yield OutboxBatch(rows, self._mark_sent)
            return
        with self.engine.connect() as connection, connection.begin():
            unsent = self._unsent(limit).with_for_update(skip_locked=True)
            rows = [cast(OutboxRow, tuple(row)) for row in connection.execute(unsent)]

            def mark(ids: list[int]) -> None:
                connection.execute(self._sent(ids))

            yield OutboxBatch(rows, mark)

    def _unsent(self, limit: int) -> Select[Any]:
        outbox = self.tables.outbox
        return (
            select(outbox.c.id, outbox.c.event_id, outbox.c.type, outbox.c.body)
            .where(outbox.c.sent_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )

    def _sent(self, ids: Sequence[int]) -> Update:
        outbox = self.tables.outbox
        return update(outbox).where(outbox.c.id.in_(ids)).values(sent_at=utcnow())

    def _mark_sent(self, ids: list[int]) -> None:
        with self.unit_of_work() as uow:
            uow.session.execute(self._sent(ids))
            uow.session.commit()

    def outbox_backlog(self) -> tuple[int, float]:
        """Unsent rows, and the age in seconds of the oldest."""
        outbox = self.tables.outbox
        with self.read() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(
                    outbox.c.sent_at.is_(None)
                )
            ).one()
        if not count:
            return 0, 0.0
        oldest = UtcDateTime().process_result_value(oldest, self.engine.dialect)
        return int(count), (utcnow() - oldest).total_seconds() if oldest else 0.0

    def ping(self) -> None:
        with self.read() as session:
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        self.read_engine.dispose()


class FirstTimes(set[str]):
    """Event ids a consumer sees for the first time, as ``UnitOfWork.first_times`` found them."""

    def take(self, event_id: str) -> bool:
        """True the first time it is asked of a new id, False after and for seen ids."""
        if event_id in self:
            self.discard(event_id)
            return True
        return False


class UnitOfWork:
    """One transaction: business rows, the events they cause, and the event consumed."""

    def __init__(self, store: Store, consumer: str) -> None:
        self.store = store
        self.consumer = consumer
        self._emitted: list[Envelope[Any]] = []
        self._before_commit: list[Callable[[], None]] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        if self.store._write_lock is not None:
            self.store._write_lock.acquire()
        self.session = Session(self.store.engine, expire_on_commit=False)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
            self.session.close()
        finally:
            if self.store._write_lock is not None:
                self.store._write_lock.release()

    def first_time(self, event_id: str) -> bool:
        """Record that this consumer handled ``event_id``; False if it already had.

        An INSERT that ignores conflicts, not a read then a write: two instances racing on
        the same redelivered event cannot both pass.
        """
        return insert_if_absent(
            self.session,
            self.store.tables.processed_events,
            consumer=self.consumer,
            event_id=event_id,
            processed_at=utcnow(),
        )

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        """``first_time`` for a whole batch at once: the ids this consumer had not handled
        yet, each to be taken once (a redelivered event may come twice in a batch)."""
        now = utcnow()
        rows = [
            {"consumer": self.consumer, "event_id": event_id, "processed_at": now}
            for event_id in sorted(set(event_ids))
        ]
        processed = self.store.tables.processed_events
        return FirstTimes(insert_all_if_absent(self.session, processed, rows, "event_id"))

    def emit(self, envelope: Envelope[Any]) -> None:
        """Queue an event in the outbox; it leaves only if this unit of work commits."""
        self._emitted.append(envelope)

    def before_commit(self, write: Callable[[], None]) -> None:
        """Run ``write`` when this unit of work commits, before anything else goes in: for rows
        a caller keeps back to write together."""
        self._before_commit.append(write)

    def commit(self) -> None:
        for write in self._before_commit:
            write()
        if self._emitted:
            now = utcnow()
            self.session.execute(
                insert(self.store.tables.outbox),
                [
                    {
                        "event_id": envelope.event_id,
                        "type": envelope.type,
                        "body": envelope.model_dump_json(),
                        "created_at": now,
                    }
                    for envelope in self._emitted
                ],
            )
        self.session.commit()
        if self._emitted:
            emitted, self._emitted = self._emitted, []
            for listener in self.store.listeners:
                listener.outbox_committed()
            metrics.observe_committed(emitted)
