"""Inserts that leave uniqueness to the database: ``INSERT … ON CONFLICT DO NOTHING``, built
with the dialect's own ``insert`` and run through the session, many rows as one executemany
(SQLAlchemy batches those into multi-row statements, insertmanyvalues).

Uniqueness is left to the database, so two writers racing on one key cannot both win, and
neither sees an error that would abort its transaction. The rows stand alone: ORM objects
pending in the session are not flushed first (no foreign key of these rows may point at one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Table, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

M = TypeVar("M")
Target = Table | type[Any]
"""A Core table, or a mapped class (its rows may then leave out different columns: the ORM
inserts each set of columns apart, with the columns' defaults)."""


def dialect_insert(dialect: str, table: Target) -> postgresql.Insert | sqlite.Insert:
    """The dialect's own ``INSERT`` (PostgreSQL's or SQLite's), the one with ``ON CONFLICT``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def insert_if_absent(session: Session, table: Target, **values: Any) -> bool:
    """``INSERT … ON CONFLICT DO NOTHING`` of one row; True if the row went in."""
    core = _table(table)
    statement = dialect_insert(_dialect(session), core).on_conflict_do_nothing()
    with session.no_autoflush:
        result = session.execute(statement, values)
    return bool(cast(CursorResult[Any], result).rowcount)


def inserted_if_absent(
    session: Session, table: Target, rows: Sequence[Mapping[str, Any]], returning: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Each row unless one with the same unique key is there (or comes earlier in ``rows``),
    as one executemany; the ``returning`` columns of those that went in, in no promised order.

    Rows go in in the order given: callers sort them so that writers racing on the same keys
    (PostgreSQL) wait for each other in one order and cannot deadlock."""
    if not rows:
        return []
    core = _table(table)
    statement = (
        dialect_insert(_dialect(session), table)
        .on_conflict_do_nothing()
        .returning(*(core.c[name] for name in returning))
    )
    with session.no_autoflush:
        return [tuple(row) for row in session.execute(statement, list(rows))]


def insert_all_if_absent(
    session: Session, table: Target, rows: Sequence[Mapping[str, Any]], key: str
) -> set[Any]:
    """``insert_if_absent`` for many rows at once: the ``key`` of those that went in."""
    return {row[0] for row in inserted_if_absent(session, table, rows, (key,))}


def made_and_locked(
    session: Session, model: type[M], rows: Sequence[dict[str, Any]], key: str
) -> tuple[list[M], set[Any]]:
    """The rows of these keys, made from ``rows`` where absent and locked until the
    transaction ends (``FOR UPDATE``, in key order, so that two writers lock shared rows in one
    order), read afresh; and the keys of those made now."""
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
    made = insert_all_if_absent(session, model, ordered, key)
    with session.no_autoflush:
        return list(session.scalars(locked)), made


def _table(table: Target) -> Table:
    if isinstance(table, Table):
        return table
    return cast(Table, inspect(table).local_table)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name
