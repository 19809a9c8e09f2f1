"""The desk at scale (issue 21, "Speed"; ``--only data-scale``, not in the default run).

For PostgreSQL (a scratch database, when one answers) and then SQLite: a platform's databases
migrated (``civicflow migrate``) and loaded with the demo county, then filled with
``--scale-postgres-cases`` (2,000,000) or ``--scale-sqlite-cases`` (200,000) cases straight
into dispatch's, supervision's and intake's tables (``bench.data_scale_load``: five years, the
four lines and the centre's desk, every status, some overdue); then the platform started on
that data (one ``civicflow run`` per service, as the e2e bench runs it) and measured over HTTP
as the admin and as a street-level user (``street``, scoped to its street centre), each call
``--scale-calls`` (50) times: the case list with each filter, ``q``, ``phone``, a deep keyset
walk (``next`` followed 200 times), the case page, the overdue board paged, and the export of
100,000 rows; every service's peak RSS. Figures against the issue's goals are reported, never
asserted.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import log, postgres_admin_url, quantiles
from bench.data_scale_load import dialect_of, generate, pools_of, sample
from bench.data_scale_pools import Pools
from bench.e2e import postgres
from bench.procstats import peak_rss_mb
from kit.settings import Settings
from tests.support.harness import (
    ALL_SERVICES,
    Processes,
    http,
    platform_env,
    temporary_vhost,
    wait_for_consumers,
)

YEARS = 5
WALK = 200
EXPORT_ROWS = 100_000
QUERIES = ("油烟", "电梯故障", "拖欠工资", "噪音扰民", "新华社区")
GOALS_MS = {"list": 300.0, "case_page": 100.0, "board": 300.0}
EXPORT_GOAL = {"rows_per_s": 5000.0, "rss_mb": 250.0}


class Desk:
    """The console as a signed-in user calls it, timed."""

    def __init__(self, console: str, username: str) -> None:
        self.console = console
        body = json.dumps({"username": username, "password": username}).encode()
        answer = http(
            "POST", f"{console}/api/v1/auth/login", body, {"Content-Type": "application/json"}
        )
        if answer.status != 200:
            raise RuntimeError(f"cannot sign in as {username}: {answer.status} {answer.body}")
        self.headers = {"Authorization": f"Bearer {answer.body['token']}"}

    def get(self, path: str) -> tuple[float, Any]:
        started = time.perf_counter()
        answer = http("GET", self.console + path, None, self.headers)
        return (time.perf_counter() - started) * 1000, answer

    def series(self, paths: Sequence[str]) -> dict[str, Any]:
        """Each path called once, in turn: p50/p95 ms, refusals, and what the first found."""
        timings, errors, first = [], 0, None
        for path in paths:
            ms, answer = self.get(path)
            timings.append(ms)
            errors += answer.status != 200
            first = answer if first is None else first
        body = first.body if first is not None and isinstance(first.body, dict) else {}
        shown = {"total": body.get("total"), "items": len(body.get("items", []))}
        return quantiles(timings, (50, 95)) | {"calls": len(timings), "errors": errors, **shown}


def list_paths(
    calls: int, unit: str, days: tuple[str, str], phones: Sequence[str]
) -> dict[str, list[str]]:
    """The list calls measured, ``calls`` of each: every filter alone, ``q`` and ``phone``
    over several values."""
    plain = {
        "page_1": "",
        "status": "status=in_progress",
        "channel": "channel=petition",
        "risk": "risk=red",
        "category": "category=property.elevator",
        "unit": f"unit={unit}",
        "from_to": f"from={days[0]}&to={days[1]}",
        "overdue": "overdue=true",
    }
    paths = {name: [f"/api/v1/cases?{query}"] * calls for name, query in plain.items()}
    quote = urllib.parse.quote
    paths["q"] = [f"/api/v1/cases?q={quote(QUERIES[n % len(QUERIES)])}" for n in range(calls)]
    paths["phone"] = [f"/api/v1/cases?phone={phones[n % len(phones)]}" for n in range(calls)]
    return paths


def keyset_walk(desk: Desk, steps: int = WALK) -> dict[str, Any]:
    """Page 1, then ``next`` followed up to ``steps`` times: what each page cost."""
    timings, path, pages = [], "/api/v1/cases?page_size=50", 0
    while path and pages <= steps:
        ms, answer = desk.get(path)
        if answer.status != 200:
            return {"error": answer.status, "pages": pages}
        timings.append(ms)
        pages += 1
        cursor = answer.body.get("next")
        path = f"/api/v1/cases?page_size=50&after={cursor}" if cursor else ""
    return {
        "pages": pages,
        "page_1_ms": round(timings[0], 1),
        "last_page_ms": round(timings[-1], 1),
    } | quantiles(timings[1:] or timings, (50, 95))


def board_walk(desk: Desk, calls: int) -> dict[str, Any]:
    """The overdue board, page after page (from the first again at the end), ``calls`` times."""
    timings, after, sizes, totals = [], None, [], None
    for _ in range(calls):
        path = "/api/v1/board" + (f"?after={after}" if after else "")
        ms, answer = desk.get(path)
        if answer.status != 200:
            return {"error": answer.status}
        timings.append(ms)
        sizes.append(len(json.dumps(answer.body)))
        totals = totals or answer.body.get("totals")
        after = answer.body.get("next")
    return quantiles(timings, (50, 95)) | {
        "calls": calls,
        "totals": totals,
        "largest_answer_kb": round(max(sizes) / 1024, 1),
    }


class RssSampler(threading.Thread):
    """The largest resident set (``VmRSS``) of some processes while it runs."""

    def __init__(self, pids: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.pids, self.peaks, self.stopping = pids, dict.fromkeys(pids, 0.0), False

    def run(self) -> None:
        while not self.stopping:
            for name, pid in self.pids.items():
                self.peaks[name] = max(self.peaks[name], _rss_mb(pid))
            time.sleep(0.1)


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def export(desk: Desk, pids: dict[str, int], rows: int = EXPORT_ROWS) -> dict[str, Any] | str:
    """``GET /api/v1/cases/export?format=csv``, read up to ``rows`` rows: rows a second and
    the console's and dispatch's peak RSS meanwhile; "not available" if it does not answer."""
    request = urllib.request.Request(
        f"{desk.console}/api/v1/cases/export?format=csv", headers=desk.headers
    )
    sampler = RssSampler({n: pids[n] for n in ("console", "dispatch")})
    sampler.start()
    started, got = time.perf_counter(), -1  # the header line is no row
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            if "csv" not in answer.headers.get("Content-Type", ""):
                return "not available"
            for _line in answer:
                got += 1
                if got >= rows:
                    break
    except urllib.error.HTTPError:
        return "not available"
    finally:
        sampler.stopping = True
        sampler.join()
    seconds = time.perf_counter() - started
    return {
        "rows": got,
        "seconds": round(seconds, 2),
        "rows_per_s": round(got / seconds, 1),
        "rss_mb": {n: round(v, 1) for n, v in sampler.peaks.items()},
    }


def as_user(desk: Desk, calls: int, wanted: dict[str, Any]) -> dict[str, Any]:
    """Every list call, the keyset walk, the case page and the board, as one user."""
    lists = {name: desk.series(paths) for name, paths in wanted["lists"].items()}
    phone_total, plain_total = lists["phone"].get("total"), lists["page_1"].get("total")
    if lists["phone"]["errors"] or phone_total == plain_total:  # the filter was ignored
        lists["phone"] = "not available"
    cases = [f"/api/v1/cases/{case_id}" for case_id in wanted["case_ids"]][:calls]
    return {
        "lists": lists,
        "keyset": keyset_walk(desk),
        "case_page": desk.series(cases),
        "board": board_walk(desk, calls),
    }


def measure_platform(
    platform: Processes, app: Settings, pools: Pools, calls: int, now: datetime
) -> dict[str, Any]:
    console = platform.service_urls("console")[0]
    rng = random.Random(5)
    a_year_ago = (now - timedelta(days=365)).date()
    days = (str(a_year_ago), str(a_year_ago + timedelta(days=29)))
    street = next(p for p in pools.places if p.street_centre and p.street_centre["code"] == "S-001")
    street_code = next(u["code"] for u in street.chain if u["level"] == "street")
    phones = [c.phone for c in rng.sample(pools.citizens, min(calls, len(pools.citizens)))]
    lists = list_paths(calls, street_code, days, phones)
    random_ids = f"SELECT case_id FROM cases ORDER BY random() LIMIT {calls:d}"
    held = (
        "SELECT case_id FROM case_reach WHERE unit_code = 'S-001' "
        f"ORDER BY random() LIMIT {calls:d}"
    )
    users = {
        "admin": {"lists": lists, "case_ids": [r[0] for r in sample(app, random_ids)]},
        "street": {"lists": lists, "case_ids": [r[0] for r in sample(app, held)]},
    }
    figures: dict[str, Any] = {}
    for username, wanted in users.items():
        log(f"data-scale: measuring as {username}")
        figures[username] = as_user(Desk(console, username), calls, wanted)
    pids = {name: process.pid for name, process in platform.processes.items()}
    log("data-scale: export")
    figures["export"] = export(Desk(console, "admin"), pids)
    figures["rss_mb"] = {name: peak_rss_mb(pid) for name, pid in pids.items()}
    return figures


Loaded = tuple[Processes, Settings, dict[str, Any], datetime]


Fill = Callable[[Settings, tuple[datetime, datetime]], dict[str, Any]]
"""What a platform's databases get after the demo county: rows over five years to now."""


def cases_of(count: int) -> Fill:
    def fill(app: Settings, span: tuple[datetime, datetime]) -> dict[str, Any]:
        log(f"data-scale: generating {count:,} cases on {dialect_of(app)}")
        return generate(app, count, span)

    return fill


@contextmanager
def loaded_platform(
    database_url: str | None, fill: Fill, reuse: Callable[[Settings], dict[str, Any]] | None = None
) -> Iterator[Loaded]:
    """A platform's databases migrated, the demo county and what ``fill`` writes in them,
    then every service started on them. With ``reuse``, the databases already hold the demo
    county and the cases (a kept database): they are only migrated, and ``reuse`` says what
    was generated."""
    extra = {"DATABASE_URL": database_url} if database_url else {}
    with (
        tempfile.TemporaryDirectory(prefix="civicflow-datascale-") as data,
        temporary_vhost() as uri,
    ):
        platform = Processes(platform_env(uri, Path(data), **extra), Path(data))
        platform.civicflow("migrate")
        app, now = Settings.from_env(platform.env), datetime.now(UTC)
        if reuse is None:
            platform.civicflow("demo")
            generated = fill(app, (now - timedelta(days=365 * YEARS), now))
            log(f"data-scale: generated in {generated['seconds']}s")
        else:
            generated = reuse(app)
            log("data-scale: the kept database's cases, migrated")
        try:
            for service in ALL_SERVICES:
                platform.start(service)
            for service in ("dispatch", "supervision"):
                wait_for_consumers(uri, f"rpc-{service}")
            yield platform, app, generated, now
        finally:
            platform.stop()


def one_database(
    database_url: str | None, cases: int, calls: int, reused: bool = False
) -> dict[str, Any]:
    def reuse(app: Settings) -> dict[str, Any]:
        # the pools are drawn from the county and a seeded generator, as when generated
        return {"cases": cases, "reused": True, "pools": pools_of(app, max(1_000, cases // 20))}

    kept = reuse if reused else None
    with loaded_platform(database_url, cases_of(cases), kept) as (platform, app, generated, now):
        pools = generated.pop("pools")
        figures = measure_platform(platform, app, pools, calls, now)
    return {"generated": generated} | figures


def against_goals(figures: dict[str, Any]) -> dict[str, Any]:
    """The worst of each kind over both users, and whether it meets the issue's goal."""
    worst: dict[str, float | None] = {"list": None, "case_page": None, "board": None}

    def take(kind: str, value: float | None) -> None:
        if value is not None:
            worst[kind] = max(worst[kind] or 0.0, value)

    for user in ("admin", "street"):
        measured = figures.get(user, {})
        for series in measured.get("lists", {}).values():
            take("list", series.get("p95") if isinstance(series, dict) else None)
        take("list", measured.get("keyset", {}).get("p95"))
        take("case_page", measured.get("case_page", {}).get("p95"))
        take("board", measured.get("board", {}).get("p95"))
    goals: dict[str, Any] = {f"{k}_p95_ms": v for k, v in worst.items()}
    goals |= {f"{k}_p95_ok": None if v is None else v < GOALS_MS[k] for k, v in worst.items()}
    exported = figures.get("export")
    if isinstance(exported, dict):
        rss = max(exported["rss_mb"].values())
        goals |= {
            "export_rows_per_s": exported["rows_per_s"],
            "export_rss_mb": rss,
            "export_ok": exported["rows_per_s"] >= EXPORT_GOAL["rows_per_s"]
            and rss < EXPORT_GOAL["rss_mb"],
        }
    else:
        goals |= {"export_rows_per_s": None, "export_ok": None}
    peaks = [v for v in figures.get("rss_mb", {}).values() if v]
    goals["max_rss_mb"] = max(peaks) if peaks else None
    goals["rss_ok"] = None if not peaks else max(peaks) < EXPORT_GOAL["rss_mb"]
    return goals


def run_data_scale(
    postgres_cases: int, sqlite_cases: int, calls: int, kept: str | None = None
) -> dict[str, Any]:
    """Both databases; a flat figure per goal for the report's ``goals``. With ``kept``, the
    PostgreSQL cases live in a database of that name that stays afterwards: generated into it
    the first time, measured again as they are (after ``migrate``) the next."""
    report: dict[str, Any] = {}

    def record(label: str, figures: dict[str, Any]) -> None:
        figures["goals"] = against_goals(figures)
        report[f"data_scale_{label}"] = figures
        report.update({f"data_scale_{label}_{key}": v for key, v in figures["goals"].items()})

    with kept_postgres(kept) if kept else postgres() as url:
        if url is None:
            log("data-scale: PostgreSQL does not answer: no figures on it")
        elif postgres_cases:
            reused = bool(kept) and _holds_cases(url)
            record("postgresql", one_database(url, postgres_cases, calls, reused))
    if sqlite_cases:
        record("sqlite", one_database(None, sqlite_cases, calls))
    return report


@contextmanager
def kept_postgres(name: str) -> Iterator[str]:
    """The database ``name`` on the bench's server, created if missing and never dropped."""
    import psycopg2

    admin_url = postgres_admin_url()
    admin = psycopg2.connect(admin_url, connect_timeout=3)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    yield url.replace("postgresql://", "postgresql+psycopg2://", 1)


def _holds_cases(url: str) -> bool:
    import psycopg2

    connection = psycopg2.connect(url.replace("+psycopg2", ""), connect_timeout=3)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('dispatch.cases') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return False
            cursor.execute("SELECT EXISTS (SELECT 1 FROM dispatch.cases)")
            return bool(cursor.fetchone()[0])
    finally:
        connection.close()
