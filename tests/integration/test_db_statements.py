"""The kit's statements against SQLite and PostgreSQL: inserts that leave uniqueness to the
database (rows written, conflicts ignored, what went in reported), stored exactly as
SQLAlchemy's ORM stores rows; the outbox relay's statements; SQLite's write lock waited for."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
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
    func,
    insert,
    select,
    text,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import kit.engine
from contracts.events import CASE_RECEIVED, CaseReceived, Reporter
from kit.db import (
    Store,
    UtcDateTime,
    insert_all_if_absent,
    insert_if_absent,
    inserted_if_absent,
    kit_tables,
    store_unavailable,
)
from kit.unit_of_work import ServiceUnitOfWork
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


def test_rows_inserted_through_a_model_are_stored_as_the_orms_flush_stores_them(
    store: Store,
) -> None:
    """Rows given as dicts that leave out different columns (their defaults fill them) or
    give JSON None, inserted through the mapped class, against the same rows flushed."""
    at = datetime(2026, 12, 6, 18, 30, 0, 1234, tzinfo=BEIJING)
    given: list[dict[str, Any]] = [
        {"at": at},
        {"at": at, "labels": ["甲"], "weight": 3, "note": {"n": "乙"}},
        {"at": at, "labels": None, "note": None},
        {"at": at, "labels": ["丙"]},
    ]
    steps = [(1, "made"), (2, "made"), (2, "sent")]
    with store.unit_of_work() as uow:
        uow.session.add_all(
            [Parcel(code=f"flushed-{n}", **values) for n, values in enumerate(given, 1)]
            + [Step(code=f"flushed-{n}", what=what) for n, what in steps]
        )
        uow.session.flush()
        rows = [{"code": f"new-{n}", **values} for n, values in enumerate(given, 1)]
        assert insert_all_if_absent(uow.session, Parcel, rows, "code") == {
            f"new-{n}" for n in range(1, 5)
        }
        made = inserted_if_absent(
            uow.session, Step, [{"code": f"new-{n}", "what": what} for n, what in steps], ("id",)
        )
        assert inserted_if_absent(uow.session, Step, [], ("id",)) == []
        uow.session.commit()
    codes = [f"-{n}" for n in range(1, 5)]
    new = stored_parcels(store, tuple(f"new{n}" for n in codes))
    assert new == stored_parcels(store, tuple(f"flushed{n}" for n in codes))
    assert new[0][1:] == ("[]", 7, None, "made")
    assert new[2][1:4] == ("null", 7, "null")
    with store.read() as session:
        ids = session.scalars(select(Step.id).where(Step.code.like("new-%"))).all()
    assert sorted(ids) == sorted(row[0] for row in made) and len(set(ids)) == 3


def test_rows_inserted_if_absent_report_what_went_in_and_leave_the_rest(store: Store) -> None:
    """A key held already, and one twice in the same call: those rows are left, the others go
    in, and each that went in is told as it went in."""
    at = datetime.now(UTC)
    with store.unit_of_work() as uow:
        insert_if_absent(uow.session, Parcel, code="one", at=at, weight=1)
        uow.session.commit()
    with store.unit_of_work() as uow:
        rows = [
            {"code": code, "at": at, "weight": weight}
            for code, weight in (("two", 2), ("one", 9), ("three", 3), ("two", 8))
        ]
        went_in = inserted_if_absent(uow.session, Parcel, rows, ("code", "weight"))
        uow.session.commit()
    assert sorted(went_in) == [("three", 3), ("two", 2)]
    with store.read() as session:
        weights = {
            code: weight for code, weight in session.execute(select(Parcel.code, Parcel.weight))
        }
    assert weights == {"one": 1, "two": 2, "three": 3}


def test_a_unit_of_work_left_uncommitted_leaves_nothing(store: Store) -> None:
    """Its inserts, its ledger entry and its outbox rows go together or not at all."""
    at = datetime.now(UTC)
    received = CaseReceived(
        channel="hotline", source="hotline", external_id="T-1", reporter=Reporter(),
        content="路灯坏了", received_at=at,
    )  # fmt: skip
    with pytest.raises(RuntimeError), store.unit_of_work("c") as uow:
        assert uow.first_time("e-1")
        assert insert_all_if_absent(uow.session, NOTES, [{"key": "k", "at": at}], "key")
        uow.emit(CASE_RECEIVED.new(received, case_id="CF-1"))
        raise RuntimeError("the work failed before its commit")
    with store.read() as session:
        counts = [
            session.scalar(select(func.count()).select_from(table))
            for table in (NOTES, store.tables.processed_events, store.tables.outbox)
        ]
    assert counts == [0, 0, 0]
    with store.unit_of_work("c") as uow:
        assert uow.first_time("e-1")  # not taken by the failed work


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
    monkeypatch.setattr(kit.engine, "SQLITE_LOCK_PATIENCE_SECONDS", 0.1)
    other = hold_write_lock(sqlite_store)
    with pytest.raises(OperationalError) as caught, sqlite_store.unit_of_work("begin") as uow:
        uow.first_time("e-1")
    assert "locked" in str(caught.value.orig)
    assert store_unavailable(caught.value)  # held and tried again, not parked
    other.rollback()
    other.close()


class ParcelWork(ServiceUnitOfWork):
    """A service's unit of work as the services write theirs: a repository on the session."""

    parcels: Session

    def on_session(self, session: Session, during: ExitStack) -> None:
        self.parcels = session


def test_a_service_unit_of_work_keeps_what_it_commits_and_nothing_else(store: Store) -> None:
    work = ParcelWork(lambda: store.unit_of_work("parcels.test"))
    at = datetime(2026, 12, 7, tzinfo=UTC)
    with work:
        assert work.first_time("E-1")
        work.parcels.add(Parcel(code="P-1", at=at))
        received = CaseReceived(
            channel="hotline", source="hotline", external_id="T-1", reporter=Reporter(),
            content="路灯坏了", received_at=at,
        )  # fmt: skip
        work.emit(CASE_RECEIVED.new(received, case_id="C-1"))
        work.commit()
    with work:  # a second block on the same object: begun again, and rolled back unless committed
        assert not work.first_time("E-1")
        work.parcels.add(Parcel(code="P-2", at=at))
    with pytest.raises(RuntimeError, match="outside its with block"):
        work.commit()
    with store.read() as session:
        assert [p.code for p in session.scalars(select(Parcel))] == ["P-1"]
    assert store.outbox_backlog()[0] == 1
