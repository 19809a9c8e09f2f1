"""A PostgreSQL database per test when a server is reachable; skipped otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import MetaData

from kit.db import KitTables, Store, scratch_postgres

ADMIN_URL = os.environ.get(
    "CIVICFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def temporary_postgres() -> Iterator[str]:
    scratch = scratch_postgres(ADMIN_URL, "civicflow_test")
    try:
        url = scratch.__enter__()
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    try:
        yield url
    finally:
        scratch.__exit__(None, None, None)


@contextmanager
def database_for(kind: str) -> Iterator[str | None]:
    """A test platform's database by ``kind``: ``None`` for SQLite (the settings' default, under
    the platform's data directory), else a scratch PostgreSQL database."""
    if kind == "sqlite":
        yield None
        return
    with temporary_postgres() as url:
        yield url


@contextmanager
def store_with_tables(
    url: str, service: str, tables: KitTables, metadata: MetaData
) -> Iterator[Store]:
    """A service's ``Store`` on ``url`` with ``metadata``'s tables made (in the service's own
    schema on PostgreSQL), disposed of afterwards."""
    store = Store(url, service, tables)
    if store.dialect == "postgresql":
        with store.engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{service}"')
    metadata.create_all(store.engine)
    try:
        yield store
    finally:
        store.dispose()
