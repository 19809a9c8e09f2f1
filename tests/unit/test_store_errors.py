"""Which database errors are a passing outage (hold the work) and which are a mistake."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

import eventlet
import psycopg2
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

import kit.engine
from kit.engine import make_engine, store_unavailable


def raised_by(engine_url: str, sql: str) -> DBAPIError:
    engine = create_engine(engine_url)
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    except DBAPIError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{sql!r} did not fail")


def test_a_sqlite_lock_held_by_another_process_is_waited_for_green_then_an_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait must leave the hub free: a greenlet standing in for the AMQP heartbeat keeps
    ticking all along (SQLite's own busy wait would freeze it for the whole wait)."""
    monkeypatch.setattr(kit.engine, "SQLITE_LOCK_PATIENCE_SECONDS", 1.0)
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")  # as every service's database is
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = make_engine(f"sqlite:///{path}")
    ticks: list[float] = []

    def heartbeat() -> None:
        while True:
            ticks.append(time.monotonic())
            eventlet.sleep(0.02)

    beating = eventlet.spawn(heartbeat)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError) as caught, engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        waited = time.monotonic() - started
    finally:
        beating.kill()
        holder.execute("ROLLBACK")
        holder.close()
        engine.dispose()
    assert "locked" in str(caught.value)
    assert store_unavailable(caught.value)
    assert waited >= 0.7
    gaps = [later - earlier for earlier, later in itertools.pairwise(ticks)]
    assert len(ticks) >= 20 and max(gaps) < 0.2, (len(ticks), max(gaps))


def test_a_sqlite_lock_released_within_patience_is_simply_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "briefly.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")  # as every service's database is
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    eventlet.spawn_after(0.3, lambda: (holder.execute("COMMIT"), holder.close()))
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        engine.dispose()


def test_sql_mistakes_on_sqlite_are_not_an_outage() -> None:
    exc = raised_by("sqlite://", "SELECT * FROM no_such_table")
    assert isinstance(exc, OperationalError)
    assert not store_unavailable(exc)


def test_an_unreachable_postgresql_is_an_outage() -> None:
    exc = raised_by("postgresql+psycopg2://nobody@127.0.0.1:1/none?connect_timeout=1", "SELECT 1")
    assert isinstance(exc.orig, psycopg2.OperationalError)
    assert store_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        IntegrityError("INSERT", {}, Exception("duplicate key")),
        ProgrammingError("SELECT", {}, Exception("syntax error")),
        ValueError("not a database error at all"),
    ],
)
def test_other_failures_are_not_an_outage(exc: BaseException) -> None:
    assert not store_unavailable(exc)
