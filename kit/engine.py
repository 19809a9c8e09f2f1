"""Engines for SQLite and PostgreSQL, and telling a passing outage of the store from a fault.

Each service owns its database: an SQLite file of its own by default, or its own schema of a
shared PostgreSQL database.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SqlalchemyTimeoutError

DEFAULT_POOL_SIZE = 5
SQLITE_BUSY_SLICE_MS = 20
"""How long SQLite itself may wait for a lock. Its busy handler sleeps in C, holding the
eventlet hub (and with it every heartbeat and every other greenlet), so it only gets a slice;
the rest of the wait is ours, green."""
SQLITE_LOCK_PATIENCE_SECONDS = 30.0
SQLITE_PRAGMAS = (
    f"busy_timeout={SQLITE_BUSY_SLICE_MS}",
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
)


def green_driver(url: str) -> str:
    """``postgresql://`` means psycopg2 here (green through psycogreen); SQLAlchemy 2.1 would
    pick psycopg 3, which blocks the eventlet hub."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


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
        return _sqlite_engine(url, immediate)
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(
        green_driver(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    """SQLAlchemy's documented recipe for pysqlite transactions: the driver's own transaction
    handling off at connect, and the ``BEGIN`` we want emitted at each begin."""
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
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if immediate:
            begin_when_unlocked(connection)
        else:
            connection.exec_driver_sql("BEGIN")

    return engine


def begin_when_unlocked(connection: Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting for another process's write lock in green sleeps so that
    the service keeps its broker connection, its heartbeats and its HTTP answers meanwhile;
    past ``SQLITE_LOCK_PATIENCE_SECONDS`` the lock's error is raised."""
    deadline = time.monotonic() + SQLITE_LOCK_PATIENCE_SECONDS
    pause = 0.01
    while True:
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            if "locked" not in str(exc.orig) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)  # green once monkey-patched: the hub runs on
        pause = min(pause * 2, 0.25)


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
