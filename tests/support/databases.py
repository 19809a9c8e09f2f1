"""A PostgreSQL database per test when a server is reachable; skipped otherwise."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADMIN_URL = os.environ.get(
    "CIVICFLOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _admin_connection():  # type: ignore[no-untyped-def]
    import psycopg2

    connection = psycopg2.connect(ADMIN_URL, connect_timeout=3)
    connection.autocommit = True
    return connection


@contextmanager
def temporary_postgres() -> Iterator[str]:
    try:
        admin = _admin_connection()
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    name = f"civicflow_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
