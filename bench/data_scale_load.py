"""Writing the data-scale bench's cases straight into the services' databases, migrated first
by their own migrations (``civicflow migrate``): on PostgreSQL by ``COPY … FROM STDIN``
(psycopg2's ``copy_expert``), the secondary indexes of the tables filled dropped before and
made again after from their own definitions (``pg_indexes``); on SQLite by SQLAlchemy Core
``insert`` executemany, a chunk a transaction (FTS5 is kept by the migration's triggers).
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Table, create_engine, insert, select, text

from bench import log
from bench.data_scale_pools import (
    Pools,
    categories_of,
    category_weights,
    citizens_of,
    contents_of,
    places_of,
    shared_objects,
    street_centres,
)
from bench.data_scale_rows import TABLES, chunk
from kernel.phones import blind_index
from kit.catalogue import load_catalogue
from kit.pii import load_phone_index_key, load_vault
from kit.settings import Settings
from services.dispatch import models as dispatch_models
from services.grid.models import UnitRow
from services.intake import models as intake_models
from services.supervision import models as supervision_models

CHUNK = 5_000
METADATA = {
    "dispatch": dispatch_models.Base.metadata,
    "supervision": supervision_models.Base.metadata,
    "intake": intake_models.Base.metadata,
}


def cut(text_: str) -> list[str]:
    """A text's search words, as dispatch's ``search.terms_of`` cuts them (jieba's search
    cut of the NFKC text, words only, each once)."""
    from services.dispatch.search import terms_of

    return terms_of(text_).split()


def pools_of(settings: Settings, citizens: int) -> Pools:
    """The pools over the demo county already loaded in grid's database."""
    engine = create_engine(settings.database_url_for("grid"), **_schema_args(settings, "grid"))
    try:
        with engine.connect() as connection:
            columns = (UnitRow.code, UnitRow.name, UnitRow.level, UnitRow.parent)
            units = [tuple(row) for row in connection.execute(select(*columns))]
    finally:
        engine.dispose()
    categories = categories_of(settings.config_dir)
    names = {code: c.name for code, c in load_catalogue(settings.config_dir).categories.items()}
    vault, key = load_vault(settings), load_phone_index_key(settings)
    return Pools(
        categories,
        category_weights(categories),
        contents_of(categories, names, cut),
        places_of(units, street_centres(settings.config_dir), cut),  # type: ignore[arg-type]
        citizens_of(citizens, (vault.seal, vault.fingerprint, partial(blind_index, key))),
    )


def _schema_args(settings: Settings, service: str) -> dict[str, Any]:
    url = settings.database_url_for(service)
    if url.startswith("sqlite"):
        return {}
    return {"connect_args": {"options": f"-csearch_path={service}"}}


def generate(
    settings: Settings, count: int, span: tuple[datetime, datetime], seed: int = 21
) -> dict[str, Any]:
    """``count`` cases into dispatch's, supervision's and intake's databases; how long it
    took and how many rows each table got. The rows are made (and, for COPY, formatted) by
    a process per core; this one writes them."""
    started = time.perf_counter()
    pools = pools_of(settings, max(1_000, count // 20))
    pooled = time.perf_counter() - started
    postgres = dialect_of(settings) == "postgresql"
    counted = dict.fromkeys((f"{s}.{t}" for s, t in TABLES), 0)
    made = _made_in_workers(pools, count, span, seed, postgres)
    with _postgres_writer(settings) if postgres else _sqlite_writer(settings) as write:
        for n, rows in enumerate(made):
            for table, (rows_made, payload) in rows.items():
                write(table, payload)
                counted[f"{table[0]}.{table[1]}"] += rows_made
            if n % 20 == 0:
                log(f"data-scale: {min((n + 1) * CHUNK, count):,} of {count:,} cases written")
    return {
        "cases": count,
        "seconds": round(time.perf_counter() - started, 1),
        "pools_seconds": round(pooled, 1),
        "rows": counted,
        "citizens": len(pools.citizens),
        "contents": sum(len(c) for c in pools.contents.values()),
        "pools": pools,
    }


Made = dict[tuple[str, str], tuple[int, Any]]
"""A chunk's rows by table: how many, and the rows (dicts) or, for COPY, their text."""
_WORK: dict[str, Any] = {}


def _made_in_workers(
    pools: Pools, count: int, span: tuple[datetime, datetime], seed: int, for_copy: bool
) -> Iterator[Made]:
    """The chunks in order, made by forked workers (they share the pools as forked)."""
    _WORK.update(
        pools=pools,
        count=count,
        span=span,
        seed=seed,
        for_copy=for_copy,
        shared={id(o): json.dumps(o, ensure_ascii=False) for o in shared_objects(pools)},
    )
    context = multiprocessing.get_context("fork")
    with context.Pool(max(1, min(2, os.cpu_count() or 1))) as workers:
        yield from workers.imap(_make_chunk, range(0, count, CHUNK), chunksize=1)


def _make_chunk(first: int) -> Made:
    work = _WORK
    rows = chunk(first, CHUNK, work["count"], work["pools"], work["span"], work["seed"])
    if not work["for_copy"]:
        return {table: (len(made), made) for table, made in rows.items()}
    return {table: (len(made), copy_text(made, work["shared"])) for table, made in rows.items()}


def copy_text(rows: Sequence[dict[str, Any]], shared: dict[int, str]) -> tuple[list[str], str]:
    """The rows' columns and their lines in COPY's text format."""
    if not rows:
        return [], ""
    columns = list(rows[0])
    lines = ["\t".join([_copy_value(row[c], shared) for c in columns]) for row in rows]
    return columns, "\n".join(lines) + "\n"


Write = Callable[[tuple[str, str], Any], None]


@contextmanager
def _sqlite_writer(settings: Settings) -> Iterator[Write]:
    engines = {s: create_engine(settings.database_url_for(s)) for s in METADATA}
    connections = {s: e.connect() for s, e in engines.items()}
    try:
        for connection in connections.values():
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.commit()

        def write(table: tuple[str, str], rows: Sequence[dict[str, Any]]) -> None:
            if rows:
                connection = connections[table[0]]
                with connection.begin():
                    connection.execute(insert(_table(*table)), list(rows))

        yield write
    finally:
        for service, connection in connections.items():
            connection.close()
            engines[service].dispose()


def _table(service: str, name: str) -> Table:
    return METADATA[service].tables[name]


@contextmanager
def _postgres_writer(settings: Settings) -> Iterator[Write]:
    import psycopg2

    dsn = settings.database_url_for("dispatch").replace("postgresql+psycopg2://", "postgresql://")
    with closing(psycopg2.connect(dsn)) as connection:
        kept = _drop_indexes(connection)

        def write(table: tuple[str, str], made: tuple[list[str], str]) -> None:
            columns, lines = made
            if not columns:
                return
            names = ", ".join(f'"{c}"' for c in columns)
            with connection.cursor() as cursor:
                cursor.copy_expert(
                    f'COPY "{table[0]}"."{table[1]}" ({names}) FROM STDIN', io.StringIO(lines)
                )
            connection.commit()

        yield write
        _remake_indexes(connection, kept)


def _drop_indexes(connection: Any) -> list[str]:
    """The secondary indexes of the tables filled (not their keys), dropped: the load writes
    the tables, then each index is built once."""
    wanted = [f"{service}.{table}" for service, table in TABLES]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.schemaname, i.indexname, i.indexdef FROM pg_indexes i "
            "WHERE i.schemaname || '.' || i.tablename = ANY(%s) AND NOT EXISTS ("
            " SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname"
            " AND c.connamespace = i.schemaname::regnamespace)",
            (wanted,),
        )
        found = cursor.fetchall()
        for schema, name, _definition in found:
            cursor.execute(f'DROP INDEX "{schema}"."{name}"')
    connection.commit()
    return [definition for _schema, _name, definition in found]


def _remake_indexes(connection: Any, definitions: Sequence[str]) -> None:
    started = time.perf_counter()
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for definition in definitions:
            cursor.execute(definition)
        for service, table in TABLES:
            # as autovacuum leaves a table at rest: statistics, and the visibility map that
            # lets an index-only scan (the list's bounded count) skip the heap
            cursor.execute(f'VACUUM ANALYZE "{service}"."{table}"')
    log(f"data-scale: {len(definitions)} indexes made in {time.perf_counter() - started:.0f}s")


def _copy_value(value: Any, shared: dict[int, str]) -> str:
    """One field in COPY's text format; a pool's object as serialised once."""
    if value is None:
        return "\\N"
    if (known := shared.get(id(value))) is not None:
        value = known
    elif value == []:
        return "[]"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, tuple):  # an array column (unit codes: no quoting needed)
        return "{" + ",".join(value) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    elif isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    elif not isinstance(value, str):
        return str(value)
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def dialect_of(settings: Settings) -> str:
    return (
        "postgresql" if settings.database_url_for("dispatch").startswith("postgres") else "sqlite"
    )


def sample(settings: Settings, sql: str, service: str = "dispatch") -> list[tuple[Any, ...]]:
    """A query on a service's database (what the bench asks for: ids, phones)."""
    engine = create_engine(settings.database_url_for(service), **_schema_args(settings, service))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()
