"""Supervision's clock scan over a million open clocks, on SQLite and PostgreSQL.

Fills supervision's own schema (migrated by its Alembic history) with 1,000,000 open clocks
whose next look lies in the future, of which ``DUE`` are due now, then measures:

* ``find``: the scanner's query for due rows (the first batch), the figure the goal is about;
* ``tick``: one whole scan: every due clock warned, reported overdue or escalated, its alert
  row and its events written, in batches of one transaction each;
* the query plan (the index on state and next due time, not a table scan);
* memory: the process's resident set before and after the tick, and the peak Python
  allocation during it.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from bench import postgres_database
from kit.db import Store
from kit.migrations import upgrade
from kit.sla import load_sla_policy
from services.supervision.models import TABLES, ClockRow
from services.supervision.repository import SupervisionRepository
from services.supervision.scanner import BATCH, scan_due
from services.supervision.unit_of_work import SqlSupervisionUnitOfWork

CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "config"
CLOCKS = 1_000_000
DUE = 1_000
CHUNK = 20_000


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def fill(store: Store, clocks: int, due: int, now: datetime) -> float:
    """Open clocks with their next look spread over the coming days; ``due`` of them now."""
    rng = random.Random(7)
    due_every = max(clocks // due, 1)
    started = time.perf_counter()
    with store.engine.begin() as connection:
        rows: list[dict[str, Any]] = []
        for n in range(clocks):
            is_due = n % due_every == 0 and n // due_every < due
            next_due = now - timedelta(seconds=1 + n % 60) if is_due else (
                now + timedelta(seconds=60 + rng.randrange(7 * 86400))
            )  # fmt: skip
            start = next_due - timedelta(hours=2)
            rows.append({
                "case_id": f"CF{n:010d}", "owner": f"bench-{n}", "kind": "respond",
                "level": "grid", "assignee_code": "G-0001", "state": "open",
                "started_at": start, "warn_at": next_due, "due_at": next_due + timedelta(hours=1),
                "planned_due_at": next_due + timedelta(hours=1), "next_due_at": next_due,
                "warned": False, "overdue": False, "escalation_asked": False,
            })  # fmt: skip
            if len(rows) == CHUNK:
                connection.execute(insert(ClockRow), rows)
                rows = []
        if rows:
            connection.execute(insert(ClockRow), rows)
    if store.dialect == "postgresql":
        with store.engine.begin() as connection:
            connection.execute(text("ANALYZE clocks"))
    return time.perf_counter() - started


def query_plan(store: Store, now: datetime) -> str:
    query = (
        "EXPLAIN QUERY PLAN " if store.dialect == "sqlite" else "EXPLAIN "
    ) + "SELECT id FROM clocks WHERE state = 'open' AND next_due_at <= :now " \
        "ORDER BY next_due_at LIMIT 500"  # fmt: skip
    with store.engine.connect() as connection:
        rows = connection.execute(
            text(query), {"now": now.isoformat() if store.dialect == "sqlite" else now}
        )
        return " | ".join(str(row[-1]) for row in rows)


def measure(url: str, label: str, clocks: int, due: int) -> dict[str, Any]:
    upgrade("supervision", url)
    store = Store(url, "supervision", TABLES)
    try:
        now = datetime.now(UTC)
        filled = fill(store, clocks, due, now)
        plan = query_plan(store, now)
        with store.read() as session:
            started = time.perf_counter()
            found = SupervisionRepository(session).due_clocks(now, BATCH, skip_locked=False)
            find_s = time.perf_counter() - started
        policy = load_sla_policy(CONFIG)
        before = rss_mb()
        tracemalloc.start()
        started = time.perf_counter()
        scanned = scan_due(SqlSupervisionUnitOfWork(store, "bench", autoflush=False), policy, now)
        tick_s = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        with store.read() as session:
            left = len(SupervisionRepository(session).due_clocks(now, clocks, skip_locked=False))
        return {
            f"clock_scan_{label}_find_ms": round(find_s * 1000, 2),
            f"clock_scan_{label}_found": len(found),
            f"clock_scan_{label}_tick_s": round(tick_s, 3),
            f"clock_scan_{label}_scanned": scanned,
            f"clock_scan_{label}_left_due": left,
            f"clock_scan_{label}_rss_mb": round(rss_mb(), 1),
            f"clock_scan_{label}_rss_growth_mb": round(rss_mb() - before, 1),
            f"clock_scan_{label}_peak_alloc_mb": round(peak / 2**20, 1),
            f"clock_scan_{label}_fill_s": round(filled, 1),
            f"clock_scan_{label}_plan": plan,
        }
    finally:
        store.dispose()


def run_clock_scan_bench(clocks: int = CLOCKS, due: int = DUE) -> dict[str, Any]:
    figures: dict[str, Any] = {"clock_scan_open_clocks": clocks, "clock_scan_due": due}
    with tempfile.TemporaryDirectory(prefix="civicflow-clocks-") as folder:
        figures |= measure(f"sqlite:///{folder}/supervision.db", "sqlite", clocks, due)
    with postgres_database() as url:
        if url is None:
            figures["clock_scan_postgresql_find_ms"] = None
        else:
            figures |= measure(url, "postgresql", clocks, due)
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(run_clock_scan_bench(int(os.environ.get("CLOCKS", CLOCKS)))))
