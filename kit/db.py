"""SQLAlchemy 2 without the framework: engines, the kit's own tables and the unit of work.

Each service owns its database: an SQLite file of its own by default, or its own schema of a
shared PostgreSQL database. A unit of work commits the business rows, the outbox rows of the
events they cause and the ``event_id`` it consumed in one transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlalchemyTimeoutError
from sqlalchemy.orm import Session, configure_mappers
from sqlalchemy.orm.instrumentation import ClassManager, manager_of_class
from sqlalchemy.types import TypeDecorator

from contracts.events import Envelope
from kit import metrics


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: give it a zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, straight to the text SQLAlchemy's own processor would write (``YYYY-MM-DD
        HH:MM:SS.ffffff`` in UTC): its ``%``-formatting of a dict of the parts, after our
        conversion, was the largest part of writing a clock."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime refused: give it a zone")
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_text

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """On SQLite, the text read back with ``fromisoformat`` instead of a regular
        expression's groups."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

        return from_text


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class KitTables:
    outbox: Table
    processed_events: Table


def kit_tables(metadata: MetaData) -> KitTables:
    """The outbox and the consumed-event ledger, added to a service's own metadata."""
    outbox = Table(
        "outbox",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("type", String(64), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("sent_at", UtcDateTime, nullable=True),
        Index(
            "ix_outbox_unsent",
            "id",
            sqlite_where=text("sent_at IS NULL"),
            postgresql_where=text("sent_at IS NULL"),
        ),
    )
    processed = Table(
        "processed_events",
        metadata,
        Column("consumer", String(128), primary_key=True),
        Column("event_id", String(128), primary_key=True),
        Column("processed_at", UtcDateTime, nullable=False),
    )
    return KitTables(outbox, processed)


def green_driver(url: str) -> str:
    """``postgresql://`` means psycopg2 here (green through psycogreen); SQLAlchemy 2.1 would
    pick psycopg 3, which blocks the eventlet hub."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


DEFAULT_POOL_SIZE = 5


def make_engine(
    url: str,
    schema: str | None = None,
    *,
    immediate: bool = True,
    pool_size: int = DEFAULT_POOL_SIZE,
) -> Engine:
    """An engine tuned for its backend.

    SQLite: WAL, and ``BEGIN IMMEDIATE`` for writers so two writers never deadlock upgrading
    a read lock. PostgreSQL: the service's own schema on the search path, and a pool of
    ``pool_size`` connections (as many again in overflow): every process of every service
    draws on one server's ``max_connections``, and a process's work is short transactions
    that queue well for a connection.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            for pragma in (
                f"busy_timeout={SQLITE_BUSY_SLICE_MS}",
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
            ):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            if immediate:
                begin_when_unlocked(connection)
            else:
                connection.exec_driver_sql("BEGIN")

        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(
        green_driver(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


GROUP_LIMIT = 100
"""Works in one group commit at most."""
R = TypeVar("R")
M = TypeVar("M")
T = TypeVar("T")
SQLITE_BUSY_SLICE_MS = 20
"""How long SQLite itself may wait for a lock. Its busy handler sleeps in C, holding the
eventlet hub (and with it every heartbeat and every other greenlet), so it only gets a slice;
the rest of the wait is ours, green."""
SQLITE_LOCK_PATIENCE_SECONDS = 30.0


def begin_when_unlocked(connection: Any) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write lock in green sleeps so that
    the service keeps its broker connection, its heartbeats and its HTTP answers meanwhile.

    Every transaction of a service begins here, so it goes to sqlite3 directly: through
    SQLAlchemy's execution context it cost six times the statement. Only the last try, when
    the lock outlasted our patience, goes through SQLAlchemy, which raises its own error."""
    driver = connection.connection.driver_connection
    deadline = time.monotonic() + SQLITE_LOCK_PATIENCE_SECONDS
    pause = 0.01
    while time.monotonic() + pause <= deadline:
        try:
            driver.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                break
        time.sleep(pause)  # green once monkey-patched: the hub runs on
        pause = min(pause * 2, 0.25)
    connection.exec_driver_sql("BEGIN IMMEDIATE")


_SQLITE_PASSING = ("locked", "busy", "unable to open", "disk i/o")


def store_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or was held by someone else: a passing state of the
    store, not a fault of the message or the request that met it.

    On PostgreSQL every ``OperationalError`` is one (a lost or refused connection, an
    administrator's shutdown, a deadlock victim); SQL mistakes raise other classes. SQLite
    raises ``OperationalError`` for its mistakes too (``no such table``), so only its lock
    and file errors count.
    """
    if isinstance(exc, DisconnectionError | SqlalchemyTimeoutError):
        return True  # the pool could not hand out a live connection
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        return any(word in str(exc.orig).lower() for word in _SQLITE_PASSING)
    return True


def insert_if_absent(session: Session, table: Table | type[Any], **values: Any) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True if the row went in.

    Uniqueness is left to the database, so two writers racing on one key cannot both win and
    neither sees an error that would abort its transaction. The row stands alone (no foreign
    key to a row the session has pending): ORM objects pending in the session are not flushed
    first, they go in together at commit rather than in one flush per call.
    """
    connection = session.connection()
    sql = _rendered_insert(connection.dialect, _core(table), tuple(values), 1, ignoring=True)
    if sql is None:  # a column default only SQLAlchemy can fill: its own statement
        stmt = _insert_ignoring_conflicts(connection.dialect.name, _core(table))
        with session.no_autoflush:
            return bool(session.execute(stmt, values).rowcount)  # type: ignore[attr-defined]
    return bool(connection.exec_driver_sql(sql.text, sql.bind([values])).rowcount)


def insert_all_if_absent(
    session: Session, table: Table | type[Any], rows: Sequence[dict[str, Any]], key: str
) -> set[Any]:
    """``insert_if_absent`` for many rows in one statement; the ``key`` of those that went in.

    Rows go in in the order given: callers sort them so that writers racing on the same keys
    (PostgreSQL) wait for each other in one order and cannot deadlock. The rows stand alone:
    ORM objects pending in the session are not flushed first, they go in at commit.
    """
    if not rows:
        return set()
    core_table = _core(table)
    connection = session.connection()
    sql = _rendered_insert(
        connection.dialect, core_table, tuple(rows[0]), len(rows), ignoring=True, returning=(key,)
    )
    if sql is None:
        stmt = _insert_ignoring_conflicts(connection.dialect.name, core_table)
        with session.no_autoflush:
            inserted = session.execute(stmt.values(list(rows)).returning(core_table.c[key]))
            return set(inserted.scalars())
    return {row[0] for row in connection.exec_driver_sql(sql.text, sql.bind(rows))}


def insert_new(session: Session, rows: Sequence[Any]) -> None:
    """Write new ORM rows that were never added to the session: one INSERT a table (in the
    order the tables first come, so a parent goes before its children) instead of the ORM's
    flush, whose bookkeeping for each row costs many times the row.

    For rows made and written in one go, which nothing in the transaction reads back as
    objects: they stay transient, a generated key is left to the database and not read back.
    A key the database already holds fails the statement as a flush would.
    """
    for (table, columns), values in _by_shape(rows).items():
        _run_insert(session, table, columns, values)


def insert_new_once(session: Session, rows: Sequence[M], unique: tuple[str, ...]) -> list[M]:
    """``insert_new`` for rows of one table, each unless a row with the same ``unique``
    columns is there (``ON CONFLICT DO NOTHING``): those that went in, with their generated
    key, if the table has one, read back onto them (``RETURNING``, matched by ``unique``,
    since neither database promises the order of what it returns)."""
    if not rows:
        return []
    generated = rows[0].__table__.autoincrement_column  # type: ignore[attr-defined]
    returning = (*unique, generated.key) if generated is not None else unique
    went_in: dict[tuple[Any, ...], Any] = {}
    for (table, columns), values in _by_shape(rows).items():
        for returned in _run_insert(session, table, columns, values, True, returning):
            went_in[tuple(returned[: len(unique)])] = returned[-1]
    written = []
    for row in rows:
        key = tuple(getattr(row, column) for column in unique)
        if key in went_in:
            if generated is not None:
                setattr(row, generated.key, went_in[key])
            written.append(row)
    return written


def _run_insert(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    values: Sequence[dict[str, Any]],
    ignoring: bool = False,
    returning: tuple[str, ...] = (),
) -> Any:
    connection = session.connection()
    sql = _rendered_insert(connection.dialect, table, columns, len(values), ignoring, returning)
    assert sql is not None  # column_values gave every column with a default its value
    return connection.exec_driver_sql(sql.text, sql.bind(values))


def _by_shape(rows: Sequence[Any]) -> dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]]:
    """The rows' INSERT values, by table and by the columns given (a column left to the
    database in one row and not in another needs a statement of its own)."""
    shapes: dict[tuple[Table, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in rows:
        values = column_values(row)
        shapes.setdefault((row.__table__, tuple(values)), []).append(values)
    return shapes


def write_changed(session: Session, rows: Iterable[Any]) -> None:
    """Write the changes of rows the session loaded, all of one table and with attributes
    named as their columns, with one ``UPDATE`` run for them all instead of the ORM's flush:
    every column but the key, as the row stands (a flush writes only what changed; the rows
    end up the same). The rows then leave the session, so the flush does not write them
    again: for rows a transaction is done with.

    For many rows loaded, moved and written back in one go, where the flush's bookkeeping of
    each changed attribute cost more than the statement."""
    changed = [row for row in rows if inspect(row).modified]
    if not changed:
        return
    table: Table = changed[0].__table__
    keys = tuple(column.key for column in table.primary_key.columns)
    columns = tuple(column.key for column in table.columns if column.key not in keys)
    connection = session.connection()
    sql = _rendered_update(connection.dialect, table, columns, keys)
    connection.exec_driver_sql(
        sql.text, [sql.bind([{c: getattr(row, c) for c in sql.columns}]) for row in changed]
    )
    for row in changed:
        session.expunge(row)


@lru_cache(maxsize=64)
def _rendered_update(
    dialect: Dialect, table: Table, columns: tuple[str, ...], keys: tuple[str, ...]
) -> _RenderedStatement:
    """``UPDATE`` of ``columns`` by ``keys``, written out once, with the columns' own bind
    processors (the keys' last, as the statement takes them)."""
    quote, marker = dialect.identifier_preparer, _marker(dialect)

    def assignments(names: tuple[str, ...], glue: str) -> str:
        return glue.join(f"{quote.format_column(table.c[name])} = {marker}" for name in names)

    text = (
        f"UPDATE {quote.format_table(table)} SET {assignments(columns, ', ')} "
        f"WHERE {assignments(keys, ' AND ')}"
    )
    every = columns + keys
    return _RenderedStatement(
        text, every, tuple(_bind_processor(table.c[column], dialect) for column in every)
    )


def column_values(row: Any) -> dict[str, Any]:
    """A new ORM row's columns as an INSERT takes them, as the ORM's flush would give them: a
    column never set, or set to None where None means SQL NULL, gets its default, or is left
    out for the database to fill (NULL, a server's default, a generated key)."""
    table, given, values = row.__table__, row.__dict__, {}
    for column in table.columns:
        value = given.get(column.key)
        if value is not None or (column.key in given and column.type.should_evaluate_none):
            values[column.key] = value
        elif column.default is None:
            continue  # SQL NULL, a server's default or a generated key: the database's own
        elif column.default.is_scalar:
            values[column.key] = column.default.arg
        elif column.default.is_callable:
            # SQLAlchemy wraps a callable of no arguments into one of a context
            values[column.key] = column.default.arg(None)
        else:
            raise TypeError(f"{column} has a default only the ORM's flush can fill")
    return values


def new_row(model: type[M], **values: Any) -> M:
    """A transient ORM row made without the ORM's bookkeeping for each attribute given (a
    tenth of the cost): the values go straight into its ``__dict__``, as when the ORM loads a
    row. Later assignments and reads work as on any row, and ``insert_new`` or a flush writes
    it the same."""
    row: M = _class_manager(model).new_instance()
    row.__dict__.update(values)
    return row


def _class_manager(model: type[Any]) -> ClassManager[Any]:
    manager = _MANAGERS.get(model)
    if manager is None:
        # the ORM configures its mappers at the first row made the usual way; until then a
        # model's attributes cannot be read
        configure_mappers()
        manager = _MANAGERS[model] = manager_of_class(model)
    return manager


_MANAGERS: dict[type[Any], ClassManager[Any]] = {}


def made_and_locked(
    session: Session, model: type[M], rows: Sequence[dict[str, Any]], key: str
) -> tuple[list[M], set[Any]]:
    """The rows of these keys, made from ``rows`` where absent and locked until the
    transaction ends (``FOR UPDATE``, in key order, so that two writers lock shared rows in one
    order), read afresh: two statements for a batch. Also the keys of those made now. The
    rows stand alone: ORM objects pending in the session are not flushed first."""
    if not rows:
        return [], set()
    column = getattr(model, key)
    ordered = sorted(rows, key=lambda row: row[key])
    locked = (
        select(model)
        .where(column.in_([row[key] for row in ordered]))
        .order_by(column)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    with session.no_autoflush:
        made = insert_all_if_absent(session, model, ordered, key)
        return list(session.scalars(locked)), made


def _core(table: Table | type[Any]) -> Table:
    # the Core table, not the ORM class: only a Core INSERT reports its rowcount
    return table.__table__ if hasattr(table, "__table__") else table


@dataclass(frozen=True)
class _RenderedStatement:
    """An ``INSERT`` (or an ``UPDATE``) written out once for its dialect, table, columns and
    row count, and the columns' own bind processors: the idempotency claims and ledgers of
    every consumer run one per batch, and SQLAlchemy's statement building, cache keying and
    compiling cost many times the statement itself (the profile's largest share)."""

    text: str
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def bind(self, rows: Sequence[dict[str, Any]]) -> tuple[Any, ...]:
        return tuple(
            value if process is None else process(value)
            for row in rows
            for value, process in zip(
                (row[column] for column in self.columns), self.processors, strict=True
            )
        )


@lru_cache(maxsize=512)
def _rendered_insert(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    rows: int,
    ignoring: bool = False,
    returning: tuple[str, ...] = (),
) -> _RenderedStatement | None:
    """``ignoring``: ``ON CONFLICT DO NOTHING``. None when a column left out has a default
    that only SQLAlchemy can fill."""
    if any(column.default is not None and column.key not in columns for column in table.columns):
        return None
    quote = dialect.identifier_preparer
    row = "(" + ", ".join([_marker(dialect)] * len(columns)) + ")"
    text = (
        f"INSERT INTO {quote.format_table(table)} "
        f"({', '.join(quote.format_column(table.c[column]) for column in columns)}) "
        f"VALUES {', '.join([row] * rows)}"
    )
    if ignoring:
        text += " ON CONFLICT DO NOTHING"
    if returning:
        text += " RETURNING " + ", ".join(quote.format_column(table.c[c]) for c in returning)
    processors = tuple(_bind_processor(table.c[column], dialect) for column in columns)
    return _RenderedStatement(text, columns, processors)


def _marker(dialect: Dialect) -> str:
    """The DB-API's positional parameter: ``?`` for sqlite3, ``%s`` for psycopg2."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _bind_processor(column: Column[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """What SQLAlchemy itself does to a value of this column before the driver sees it (the
    dialect's own type: SQLite's datetime text, JSON's serialising, our UTC decorator)."""
    return column.type.dialect_impl(dialect).bind_processor(dialect)


@cache
def _insert_ignoring_conflicts(dialect: str, table: Table) -> Any:
    # Built once, values bound per call: SQLAlchemy's compiled cache then hits every time
    # instead of keying a fresh ``.values(...)`` statement per row.
    return dialect_insert(dialect, table).on_conflict_do_nothing()


def dialect_insert(dialect: str, table: Table) -> Any:
    """The dialect's own ``INSERT`` (PostgreSQL's or SQLite's), the one with ``ON CONFLICT``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@dataclass(frozen=True)
class OutboxBatch:
    """Rows ``(id, event_id, type, body)`` claimed by a relay, and how to mark them sent."""

    rows: list[tuple[int, str, str, str]]
    mark_sent: Callable[[list[int]], None]


@dataclass(frozen=True)
class OutboxSql:
    """The relay's two statements for one dialect, written out once."""

    unsent: str
    update: str
    marker: str
    sent_at: Callable[[Any], Any] | None

    @staticmethod
    @lru_cache(maxsize=8)
    def of(dialect: Dialect, outbox: Table) -> OutboxSql:
        table = dialect.identifier_preparer.format_table(outbox)
        marker = _marker(dialect)
        return OutboxSql(
            unsent=f"SELECT id, event_id, type, body FROM {table} "
            f"WHERE sent_at IS NULL ORDER BY id LIMIT {marker}",
            update=f"UPDATE {table} SET sent_at = {marker} WHERE id IN ",
            marker=marker,
            sent_at=_bind_processor(outbox.c.sent_at, dialect),
        )

    def mark_sent(self, ids: Sequence[int], now: datetime) -> tuple[str, tuple[Any, ...]]:
        sent_at = self.sent_at(now) if self.sent_at is not None else now
        return self.update + "(" + ", ".join([self.marker] * len(ids)) + ")", (sent_at, *ids)


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
        self._groups: dict[tuple[str, Callable[..., Any]], GroupCommit[Any, Any]] = {}
        self.listeners: list[OutboxListener] = []
        self.outbox_insert = insert(tables.outbox)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, consumer: str = "") -> UnitOfWork:
        return UnitOfWork(self, consumer)

    def together(self, work: Callable[[UnitOfWork], R], consumer: str = "") -> R:
        """``work`` in a unit of work shared with whatever work arrives with it (group
        commit): see ``GroupCommit``."""
        return self.gathered(work, _each_in_turn, consumer)

    def gathered(
        self, item: T, handle: Callable[[UnitOfWork, list[T]], list[R]], consumer: str = ""
    ) -> R:
        """``item``'s result of ``handle``, which takes, in one unit of work, every item
        handed to it at the same moment (a group commit whose work is done for the group at
        once): see ``GroupCommit``. ``handle`` answers the items in order and must not
        commit."""
        group = self._groups.get((consumer, handle))
        if group is None:
            group = self._groups[consumer, handle] = GroupCommit(self, consumer, handle)
        return cast(R, group.run(item))

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
        The relay runs for every commit that emitted something, so its statements are written
        out once (``OutboxSql``) rather than built and compiled by SQLAlchemy each round.
        """
        sql = OutboxSql.of(self.engine.dialect, self.tables.outbox)
        if self.is_sqlite:
            with self.read_engine.connect() as connection:
                rows = [tuple(row) for row in connection.exec_driver_sql(sql.unsent, (limit,))]
                connection.rollback()
            yield OutboxBatch(rows, self._mark_sent)
            return
        with self.engine.connect() as connection, connection.begin():
            unsent = sql.unsent + " FOR UPDATE SKIP LOCKED"
            rows = [tuple(row) for row in connection.exec_driver_sql(unsent, (limit,))]

            def mark(ids: list[int]) -> None:
                connection.exec_driver_sql(*sql.mark_sent(ids, utcnow()))

            yield OutboxBatch(rows, mark)

    def _mark_sent(self, ids: list[int]) -> None:
        sql = OutboxSql.of(self.engine.dialect, self.tables.outbox)
        with self.unit_of_work() as uow:
            uow.session.connection().exec_driver_sql(*sql.mark_sent(ids, utcnow()))
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


def _each_in_turn(uow: UnitOfWork, works: list[Callable[[UnitOfWork], R]]) -> list[R]:
    return [work(uow) for work in works]


class _Waiting(Generic[T, R]):
    """One caller's item waiting for a group, and what came of it."""

    def __init__(self, item: T) -> None:
        self.item = item
        self.settled = threading.Event()
        self.result: R | None = None
        self.error: BaseException | None = None

    def settle(self, result: R | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.settled.set()

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        return cast(R, self.result)


class GroupCommit(Generic[T, R]):
    """Items that arrive together share one transaction and one commit (group commit), and
    ``handle`` does their work for the whole group at once.

    The first caller leads: it lets the others that are ready add their items, hands the group
    to ``handle`` in one unit of work, commits, and gives each caller its own result; items
    that came meanwhile get a green thread to lead their group. Each item fails alone: when the
    group's transaction fails for one item's error, every item is tried again in a transaction
    of its own. When the store itself is unavailable, every item of the group gets that error
    at once.
    """

    def __init__(
        self,
        store: Store,
        consumer: str,
        handle: Callable[[UnitOfWork, list[T]], list[R]],
        limit: int = GROUP_LIMIT,
    ) -> None:
        self.store, self.consumer, self.handle, self.limit = store, consumer, handle, limit
        self._waiting: list[_Waiting[T, R]] = []
        self._leading = False

    def run(self, item: T) -> R:
        mine = _Waiting[T, R](item)
        self._waiting.append(mine)
        if not self._leading:
            self._leading = True
            self._lead()
        mine.settled.wait()  # green: until the group that holds our item is settled
        return mine.outcome()

    def _lead(self) -> None:
        try:
            time.sleep(0)  # green: callers already under way join this group
            group, self._waiting = self._waiting[: self.limit], self._waiting[self.limit :]
            self._commit(group)
        finally:
            if self._waiting:  # who came meanwhile gets a leader of its own, not our caller
                threading.Thread(target=self._lead, daemon=True).start()
            else:
                self._leading = False

    def _commit(self, group: list[_Waiting[T, R]]) -> None:
        try:
            with self.store.unit_of_work(self.consumer) as uow:
                results = self.handle(uow, [waiting.item for waiting in group])
                uow.commit()
        except Exception as exc:
            if len(group) == 1 or store_unavailable(exc):
                for waiting in group:
                    waiting.settle(error=exc)
            else:
                for waiting in group:
                    self._commit([waiting])
        except BaseException as exc:  # the leader was killed: nobody may wait for ever
            for waiting in group:
                waiting.settle(error=exc)
            raise
        else:
            for waiting, result in zip(group, results, strict=True):
                waiting.settle(result)


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
        """``first_time`` for a whole batch in one statement: the ids this consumer had not
        handled yet, each to be taken once (a redelivered event may come twice in a batch)."""
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
            # one multi-row INSERT at the end instead of a statement per event; the rows
            # still go in, or not, with the rest of the transaction
            now = utcnow()
            self.session.execute(
                self.store.outbox_insert,
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


@contextmanager
def scratch_postgres(admin_url: str, prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own for a test or a benchmark, dropped afterwards.

    Raises what psycopg2 raises when the server cannot be reached: the caller decides whether
    that skips or fails.
    """
    import psycopg2

    admin = psycopg2.connect(admin_url, connect_timeout=3)
    admin.autocommit = True
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
