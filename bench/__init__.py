"""``make bench``: ``python -m bench.run`` from the repository root (``bench/README.md``)."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def log(message: str) -> None:
    """A progress line on stderr (stdout carries only the JSON report)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def quantiles(values: Iterable[float], which: Iterable[int] = (50, 99)) -> dict[str, float]:
    """Nearest-rank percentiles, rounded to 0.1."""
    ordered = sorted(values)
    if not ordered:
        return {}
    rank = {q: max(1, math.ceil(q / 100 * len(ordered))) for q in which}
    return {f"p{q}": round(ordered[min(r, len(ordered)) - 1], 1) for q, r in rank.items()}


def postgres_admin_url() -> str:
    """The bench's PostgreSQL server, as a superuser: ``CIVICFLOW_BENCH_POSTGRES``."""
    return os.environ.get(
        "CIVICFLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
    )


@contextmanager
def postgres_database() -> Iterator[str | None]:
    """A scratch database at ``CIVICFLOW_BENCH_POSTGRES``, dropped afterwards; None when no
    PostgreSQL answers (its figures are then null)."""
    from kit.db import scratch_postgres

    scratch = scratch_postgres(postgres_admin_url(), "civicflow_bench")
    try:
        url = scratch.__enter__()
    except Exception:
        yield None
        return
    try:
        yield url
    finally:
        scratch.__exit__(None, None, None)
