"""The kit's hand-written statements against SQLite and PostgreSQL: they must store exactly what
SQLAlchemy's own statements store, since both kinds of rows are read back the same way."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
)
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

import kit.db
from kit.db import (
    Store,
    UtcDateTime,
    insert_all_if_absent,
    insert_if_absent,
    insert_new,
    kit_tables,
    new_row,
    store_unavailable,
    write_changed,
)
from services.console.models import TABLES as CONSOLE_TABLES
from services.console.models import Base as ConsoleBase
from services.console.repository import UserRepository
from tests.support.databases import store_with_tables

METADATA = MetaData()
TABLES = kit_tables(METADATA)
NOTES = Table(
    "notes",
    METADATA,
    Column("key", String(32), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("body", JSON),
    Column("tries", Integer, default=0),  # a default only SQLAlchemy fills
)
BEIJING = timezone(timedelta(hours=8))


class Base(DeclarativeBase):
    metadata = METADATA


class Parcel(Base):
    __tablename__ = "parcels"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)  # a callable default
    weight: Mapped[int] = mapped_column(Integer, default=7)  # a plain one
    note: Mapped[dict[str, str] | None] = mapped_column(JSON)  # none at all


class Step(Base):
    __tablename__ = "parcel_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(ForeignKey("parcels.code"))
    what: Mapped[str] = mapped_column(String(32))


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "statements", TABLES, METADATA) as store:
        yield store


def stored(store: Store, key: str) -> tuple[Any, ...]:
    """The row as the database keeps it, read with SQL of our own (no type processing)."""
    with store.engine.connect() as connection:
        row = connection.execute(
            text("SELECT key, CAST(at AS TEXT), CAST(body AS TEXT) FROM notes WHERE key = :k"),
            {"k": key},
        ).one()
    return tuple(row)


@pytest.mark.parametrize("microsecond", [1234, 0])
def test_a_row_claimed_by_the_kit_is_stored_as_sqlalchemy_stores_it(
    store: Store, microsecond: int
) -> None:
    at = datetime(2026, 12, 6, 18, 30, 0, microsecond, tzinfo=BEIJING)
    body = {"地址": "人民路 1 号", "n": [1, 2.5, None]}
    with store.unit_of_work() as uow:
        assert insert_if_absent(uow.session, NOTES, key="ours", at=at, body=body, tries=0)
        uow.session.execute(insert(NOTES), {"key": "theirs", "at": at, "body": body, "tries": 0})
        uow.session.commit()
    assert stored(store, "ours")[1:] == stored(store, "theirs")[1:]
    with store.read() as session:
        rows = {row.key: row for row in session.execute(select(NOTES))}
    assert rows["ours"].at == rows["theirs"].at == at
    assert rows["ours"].at.tzinfo is not None and rows["ours"].body == body


def test_insert_if_absent_says_whether_the_row_went_in(store: Store) -> None:
    at = datetime.now(UTC)
    with store.unit_of_work() as uow:
        assert insert_if_absent(uow.session, NOTES, key="k", at=at, body=None, tries=1) is True
        assert insert_if_absent(uow.session, NOTES, key="k", at=at, body=[], tries=2) is False
        uow.session.commit()
    with store.read() as session:
        assert session.execute(select(NOTES.c.tries)).scalars().all() == [1]


def test_insert_all_if_absent_returns_the_keys_that_went_in(store: Store) -> None:
    at = datetime.now(UTC)

    def rows(*keys: str) -> list[dict[str, Any]]:
        return [{"key": key, "at": at, "body": {"k": key}, "tries": 0} for key in keys]

    with store.unit_of_work() as uow:
        assert insert_all_if_absent(uow.session, NOTES, rows("a", "b"), "key") == {"a", "b"}
        # one seen before, one new, and the new one twice in the same statement
        assert insert_all_if_absent(uow.session, NOTES, rows("b", "c", "c"), "key") == {"c"}
        assert insert_all_if_absent(uow.session, NOTES, [], "key") == set()
        uow.session.commit()
    with store.read() as session:
        assert session.execute(select(NOTES.c.key).order_by(NOTES.c.key)).scalars().all() == [
            "a",
            "b",
            "c",
        ]


def test_a_column_left_to_its_default_goes_through_sqlalchemy(store: Store) -> None:
    at = datetime.now(UTC)
    with store.unit_of_work() as uow:
        assert insert_if_absent(uow.session, NOTES, key="one", at=at, body=None)
        went_in = insert_all_if_absent(
            uow.session, NOTES, [{"key": "two", "at": at, "body": None}], "key"
        )
        uow.session.commit()
    assert went_in == {"two"}
    with store.read() as session:
        assert session.execute(select(NOTES.c.tries)).scalars().all() == [0, 0]


def test_the_idempotency_ledger_takes_aware_times_of_any_zone(store: Store) -> None:
    """``processed_at`` comes from ``utcnow``; a zone other than UTC is kept as the same
    instant, and a naive time is refused rather than guessed."""
    with store.unit_of_work("c") as uow:
        assert uow.first_time("e-1")
        assert uow.first_times(["e-1", "e-2"]) == {"e-2"}
        uow.session.commit()
    with (
        store.unit_of_work() as uow,
        pytest.raises(Exception, match="naive datetime refused"),
    ):
        insert_if_absent(
            uow.session, NOTES, key="naive", at=datetime(2026, 1, 1), body=None, tries=0
        )


def test_the_outbox_relays_statements_claim_in_order_and_mark_sent(store: Store) -> None:
    outbox = store.tables.outbox
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        uow.session.execute(
            insert(outbox),
            [
                {"event_id": f"e-{n}", "type": "case.received", "body": "{}", "created_at": now}
                for n in range(5)
            ],
        )
        uow.session.commit()
    with store.outbox_batch(3) as batch:
        assert [row[1] for row in batch.rows] == ["e-0", "e-1", "e-2"]
        batch.mark_sent([batch.rows[0][0], batch.rows[2][0]])
    with store.outbox_batch(10) as batch:
        assert [row[1] for row in batch.rows] == ["e-1", "e-3", "e-4"]
    with store.read() as session:
        sent = session.execute(
            select(outbox.c.event_id, outbox.c.sent_at).where(outbox.c.sent_at.is_not(None))
        ).all()
    assert sorted(event_id for event_id, _ in sent) == ["e-0", "e-2"]
    assert all(abs((sent_at - now).total_seconds()) < 60 for _, sent_at in sent)
    assert store.outbox_backlog()[0] == 3


@pytest.fixture
def console_store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "console", CONSOLE_TABLES, ConsoleBase.metadata) as store:
        yield store


def test_the_screens_counts_add_up_across_transactions(console_store: Store) -> None:
    with console_store.unit_of_work() as uow:
        UserRepository(uow.session).count({("2026-12-06", "received.hotline"): 2})
        uow.session.commit()
    with console_store.unit_of_work() as uow:
        UserRepository(uow.session).count(
            {("2026-12-06", "received.hotline"): 3, ("2026-12-06", "dispatched"): 1}
        )
        UserRepository(uow.session).count({})
        uow.session.commit()
    with console_store.read() as session:
        counts = UserRepository(session).counts("2026-12-06")
    assert counts == {"received.hotline": 5, "dispatched": 1}


def stored_parcels(store: Store, codes: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Each parcel as the database keeps it, with its steps, read with SQL of our own."""
    with store.engine.connect() as connection:
        return [
            tuple(connection.execute(
                text(
                    "SELECT CAST(at AS TEXT), CAST(labels AS TEXT), weight, "
                    "CAST(note AS TEXT) FROM parcels "
                    "WHERE code = :c"
                ),
                {"c": code},
            ).one())
            + tuple(connection.execute(
                text("SELECT what FROM parcel_steps WHERE code = :c ORDER BY id"), {"c": code}
            ).scalars())
            for code in codes
        ]  # fmt: skip


def test_rows_inserted_new_are_stored_as_the_orms_flush_stores_them(store: Store) -> None:
    at = datetime(2026, 12, 6, 18, 30, 0, 1234, tzinfo=BEIJING)

    def parcels(prefix: str, make: Any) -> list[Any]:
        """Left to defaults; given values; given None (JSON keeps it, a number takes the
        default); made without the ORM's bookkeeping."""
        return [
            Parcel(code=f"{prefix}-1", at=at),
            Parcel(code=f"{prefix}-2", at=at, labels=["甲"], weight=3, note={"n": "乙"}),
            Parcel(code=f"{prefix}-3", at=at, labels=None, weight=None, note=None),
            new_row(Parcel, code=f"{prefix}-4", at=at, labels=["丙"]),
            make(code=f"{prefix}-1", what="made"), make(code=f"{prefix}-2", what="made"),
            make(code=f"{prefix}-2", what="sent"),
        ]  # fmt: skip

    with store.unit_of_work() as uow:
        uow.session.add_all(parcels("flushed", Step))
        uow.session.flush()
        insert_new(uow.session, parcels("new", lambda **v: new_row(Step, **v)))
        insert_new(uow.session, [])
        uow.session.commit()
    codes = [f"-{n}" for n in range(1, 5)]
    new = stored_parcels(store, tuple(f"new{n}" for n in codes))
    assert new == stored_parcels(store, tuple(f"flushed{n}" for n in codes))
    assert new[0][1:] == ("[]", 7, None, "made")
    assert new[2][1:3] == ("null", 7)
    with store.read() as session:
        steps = session.scalars(select(Step.id)).all()
    assert len(set(steps)) == 6  # the generated keys were left to the database


def test_a_row_inserted_new_whose_key_is_held_fails_as_a_flush_would(store: Store) -> None:
    at = datetime.now(UTC)
    with store.unit_of_work() as uow:
        insert_new(uow.session, [Parcel(code="one", at=at)])
        uow.session.commit()
    with store.unit_of_work() as uow, pytest.raises(IntegrityError):
        insert_new(uow.session, [Parcel(code="two", at=at), Parcel(code="one", at=at)])
    with store.read() as session:
        assert session.scalars(select(Parcel.code)).all() == ["one"]


def test_rows_written_back_are_stored_as_the_orms_flush_stores_them(store: Store) -> None:
    at = datetime(2026, 12, 6, 18, 30, 0, 1234, tzinfo=BEIJING)
    codes = [f"{way}-{n}" for way in ("flushed", "written") for n in range(1, 4)]
    with store.unit_of_work() as uow:
        insert_new(uow.session, [Parcel(code=code, at=at, note={"n": "甲"}) for code in codes])
        uow.session.commit()
    statements: list[str] = []
    sqlalchemy_event.listen(store.engine, "before_cursor_execute", _record(statements))

    def move(rows: dict[str, Parcel], way: str) -> None:
        """One row moved every way (a time, JSON to None, a list), one a little, one not."""
        rows[f"{way}-1"].at = at + timedelta(hours=1)
        rows[f"{way}-1"].note = None
        rows[f"{way}-1"].labels = ["乙", "丙"]
        rows[f"{way}-2"].weight = 9

    for way in ("flushed", "written"):
        with store.unit_of_work() as uow:
            loaded = uow.session.scalars(select(Parcel).where(Parcel.code.like(f"{way}-%")))
            rows = {row.code: row for row in loaded}
            move(rows, way)
            statements.clear()
            if way == "written":
                write_changed(uow.session, rows.values())
                assert not uow.session.dirty  # what was written left the session
            uow.session.commit()
        updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
        assert len(updates) == (2 if way == "flushed" else 1)  # the flush: one per shape
    flushed = stored_parcels(store, tuple(c for c in codes if c.startswith("flushed")))
    assert stored_parcels(store, tuple(c for c in codes if c.startswith("written"))) == flushed
    assert flushed[0][0] != flushed[2][0] and flushed[0][3] == "null"  # moved: time, JSON
    assert (flushed[1][2], flushed[2][2]) == (9, 7)
    with store.read() as session:
        assert session.get(Parcel, "written-1").labels == ["乙", "丙"]  # type: ignore[union-attr]


def _record(statements: list[str]) -> Any:
    def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    return before_cursor_execute


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    with store_with_tables(f"sqlite:///{tmp_path}/begin.db", "begin", TABLES, METADATA) as store:
        yield store


def hold_write_lock(store: Store) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection of its own in a write
    transaction on the same file."""
    other = sqlite3.connect(store.engine.url.database or "", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_unit_of_work_waits_for_a_write_lock_held_elsewhere(sqlite_store: Store) -> None:
    other = hold_write_lock(sqlite_store)
    released = threading.Timer(0.3, other.rollback)  # green under the test's eventlet
    released.start()
    started = time.monotonic()
    with sqlite_store.unit_of_work("begin") as uow:
        assert uow.first_time("e-1")
        uow.commit()
    assert time.monotonic() - started >= 0.25
    with sqlite_store.unit_of_work("begin") as uow:
        assert not uow.first_time("e-1")  # it went in, after the lock was let go
    other.close()


def test_a_write_lock_held_past_our_patience_is_an_outage_of_the_store(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kit.db, "SQLITE_LOCK_PATIENCE_SECONDS", 0.1)
    other = hold_write_lock(sqlite_store)
    with pytest.raises(OperationalError) as caught, sqlite_store.unit_of_work("begin") as uow:
        uow.first_time("e-1")
    assert "locked" in str(caught.value.orig)
    assert store_unavailable(caught.value)  # held and tried again, not parked
    other.rollback()
    other.close()
