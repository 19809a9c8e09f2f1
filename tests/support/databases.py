"""A PostgreSQL database per test when a server is reachable; skipped otherwise."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from kit.db import scratch_postgres

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
