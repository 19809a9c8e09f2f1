"""The big screen's and 一单考评's data calls at scale (issue 22, "Speed"; ``--only
data-counters``, not in the default run).

Both answer from counters kept by events (the screen's ``screen_tallies`` and
``daily_counts``, supervision's ``assessment_days``), so their cost is set by the counter rows
of the period, not by the cases. On PostgreSQL (a scratch database) the demo county is loaded
and the tables those calls read are filled as five years of ``--scale-postgres-cases``
(2,000,000) cases would leave them, straight by SQL (``generate_series``: a minute, not the
forty the cases take):

- console: ``screen_tallies``, a row a day for each line, category, street and grid and each
  per-street figure that a day's cases reach (a key with a mean of m a day has a row with the
  chance 1 - e^-m); ``daily_counts``; ``screen_cases``,
  a row per case (today's points); the ticker, one case in 20;
- supervision: ``assessment_days``, a row a day for each unit dispatched to that day (the
  departments and street centres share three quarters of the cases, the grids a quarter);
  ``marks``, four facts a case (accepted, feedback, concluded, closed), 15 % concluded at the
  desk (直办); the desk's own row of ``assessment_days`` a day (kind ``desk``), which the
  assessment's desk row sums, with those cases concluded, revisited and satisfied;
  ``assessment_months``, those days summed by month, as the migration fills them (a month,
  a quarter, a year sums them; a day its days).

Then the platform started on them (one ``civicflow run`` per service) and, as ``admin``,
``--scale-calls`` (50) calls each, p50/p95 ms: ``GET /api/v1/screen``, and
``GET /api/v1/assessment`` for last month and last year (one call first, so that the screen's
names are fetched and kept). Goal: p95 < 200 ms.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from bench import log
from bench.data_scale import Desk, loaded_platform
from bench.data_scale_load import _schema_args, sample
from bench.data_scale_pools import categories_of, street_centres
from bench.e2e import postgres
from bench.procstats import peak_rss_mb
from kit.settings import Settings

GOAL_MS = 200.0
LINES = {"hotline": 0.38, "grid": 0.25, "opinion": 0.11, "petition": 0.11}
GRID_SHARE = LINES["grid"]
"""Of the dispatches, those to a grid (the grid line); the rest go to departments."""
BY_STREET = ("concluded", "on_time", "late", "closed", "satisfied", "unsatisfied", "overdue",
             "escalated")  # fmt: skip
DAILY = ("received.hotline", "received.grid", "received.opinion", "received.petition",
         "received.desk", "handled_at_desk", "dispatched", "overdue", "escalated", "closed",
         "revisited", "satisfied")  # fmt: skip

DAYS = "generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') AS d"
KEYED = "unnest(CAST(:metric AS text[]), CAST(:key AS text[]), CAST(:mean AS float8[]))"
SCREEN_TALLIES = f"""INSERT INTO screen_tallies (day, metric, key, count)
SELECT to_char(d, 'YYYY-MM-DD'), k.metric, k.key, 1 + floor(random() * 2 * k.mean)
FROM {DAYS} CROSS JOIN {KEYED} AS k(metric, key, mean)
WHERE random() < 1 - exp(-least(k.mean, 50))"""
DAILY_COUNTS = f"""INSERT INTO daily_counts (day, metric, count)
SELECT to_char(d, 'YYYY-MM-DD'), m, 1 + floor(random() * :per_day / 4)
FROM {DAYS} CROSS JOIN unnest(CAST(:metrics AS text[])) AS m"""
AT = "(CAST(:start AS timestamptz) + i * :step * interval '1 second')"
SCREEN_CASES = f"""INSERT INTO screen_cases (case_id, day, risk, lat, lon, street, grid, resolve_by)
SELECT 'S' || i, to_char({AT} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
  (ARRAY['blue','yellow','orange','red'])[1 + i % 4], 36.6 + random() / 5, 117.0 + random() / 5,
  (CAST(:streets AS text[]))[1 + i % :street_count], (CAST(:grids AS text[]))[1 + i % :grid_count],
  {AT} + interval '5 days'
FROM generate_series(0, :cases - 1) AS i"""
TICKER = f"""INSERT INTO screen_ticker (event_id, at, kind, case_id, unit, detail)
SELECT 'T' || i, {AT} + interval '3 days', (ARRAY['overdue','escalated','red_risk'])[1 + i % 3],
  'S' || i, '城关街道综治中心', 'resolve'
FROM generate_series(0, :cases - 1, 20) AS i"""
UNIT_DAY = f"""SELECT to_char(d, 'YYYY-MM-DD') AS day, u.kind, u.code, u.name,
  1 + floor(random() * 2 * u.mean)::int AS n
FROM {DAYS} CROSS JOIN unnest(CAST(:kind AS text[]), CAST(:code AS text[]),
  CAST(:name AS text[]), CAST(:mean AS float8[])) AS u(kind, code, name, mean)
WHERE random() < 1 - exp(-least(u.mean, 50))"""
ASSESSMENT_DAYS = f"""INSERT INTO assessment_days (day, assignee_kind, assignee_code,
  assignee_name, dispatched, returned, concluded, reopened, revisited, satisfied,
  respond_on_time, respond_late, feedback_on_time, feedback_late, resolve_on_time, resolve_late,
  overdue, orders_normal, orders_yellow, orders_red)
SELECT day, kind, code, name, n, n / 20, n * 9 / 10, n / 50, n / 2, n * 2 / 5, n * 9 / 10,
  n / 10, n * 4 / 5, n / 10, n * 4 / 5, n / 10, n / 10, n / 30, n / 60, n / 100
FROM ({UNIT_DAY}) AS unit_days"""
DESK_DAYS = f"""INSERT INTO assessment_days (day, assignee_kind, assignee_code,
  assignee_name, concluded, revisited, satisfied)
SELECT day, 'desk', 'centre', '中心直办', n, n, n
FROM (SELECT to_char(d, 'YYYY-MM-DD') AS day, 1 + floor(random() * 2 * :at_desk)::int AS n
      FROM {DAYS}) AS desk_days"""
TALLIED = ("dispatched", "returned", "concluded", "reopened", "revisited", "satisfied",
           "respond_on_time", "respond_late", "feedback_on_time", "feedback_late",
           "resolve_on_time", "resolve_late", "overdue", "orders_normal", "orders_yellow",
           "orders_red", "resolved_on_site")  # fmt: skip
ASSESSMENT_MONTHS = f"""INSERT INTO assessment_months (month, assignee_kind, assignee_code,
  assignee_name, last_day, {", ".join(TALLIED)})
SELECT m.month, m.assignee_kind, m.assignee_code, d.assignee_name, m.last_day,
  {", ".join(f"m.{name}" for name in TALLIED)}
FROM (SELECT substr(day, 1, 7) AS month, assignee_kind, assignee_code, max(day) AS last_day,
        {", ".join(f"sum({name}) AS {name}" for name in TALLIED)}
      FROM assessment_days GROUP BY substr(day, 1, 7), assignee_kind, assignee_code) AS m
JOIN assessment_days AS d ON d.day = m.last_day AND d.assignee_kind = m.assignee_kind
  AND d.assignee_code = m.assignee_code"""
MARKS = f"""INSERT INTO marks (event_id, case_id, what, at, detail)
SELECT 'M' || i || w.what, 'S' || i, w.what, {AT} + w.after * interval '1 day',
  CASE WHEN w.what = 'concluded' AND i % 20 < 3 THEN CAST('{{"at_desk": true}}' AS json)
       WHEN w.what = 'closed' THEN CAST('{{"satisfaction": "satisfied"}}' AS json) END
FROM generate_series(0, :cases - 1) AS i CROSS JOIN (VALUES ('accepted', 0.1),
  ('feedback', 1.0), ('concluded', 2.0), ('closed', 4.0)) AS w(what, after)"""


def _execute(app: Settings, service: str, statements: list[tuple[str, dict[str, Any]]]) -> None:
    url = app.database_url_for(service)
    engine = create_engine(url, **_schema_args(app, service))
    try:
        with engine.begin() as connection:
            for sql, params in statements:
                connection.execute(text(sql), params)
    finally:
        engine.dispose()


def fill_counters(cases: int) -> Any:
    """A ``loaded_platform`` fill: the counters of ``cases`` cases over the span."""

    def fill(app: Settings, span: tuple[datetime, datetime]) -> dict[str, Any]:
        started = time.perf_counter()
        log(f"data-counters: filling the counters of {cases:,} cases")
        units = sample(app, "SELECT code, name, level FROM units", "grid")
        streets = [code for code, _, level in units if level == "street"]
        grids = [(code, name) for code, name, level in units if level == "grid"]
        days = (span[1] - span[0]).days + 1
        per_day, step = cases / days, (span[1] - span[0]).total_seconds() / cases
        dates = {"first": span[0].date(), "last": span[1].date()}
        _execute(app, "console", [
            (SCREEN_TALLIES, dates | _keyed(per_day, app, streets, [g for g, _ in grids])),
            (DAILY_COUNTS, dates | {"per_day": per_day, "metrics": list(DAILY)}),
            (SCREEN_CASES, {"start": span[0], "step": step, "cases": cases, "streets": streets,
                            "grids": [g for g, _ in grids], "street_count": len(streets),
                            "grid_count": len(grids)}),
            (TICKER, {"start": span[0], "step": step, "cases": cases}),
        ])  # fmt: skip
        _execute(app, "supervision", [
            (ASSESSMENT_DAYS, dates | _units(per_day, app, grids)),
            (DESK_DAYS, dates | {"at_desk": per_day * 0.15}),  # as in MARKS: i % 20 < 3
            (MARKS, {"start": span[0], "step": step, "cases": cases}),
            (ASSESSMENT_MONTHS, {}),  # as migration supervision_monthly_months fills them
        ])  # fmt: skip
        for service in ("console", "supervision"):
            _execute(app, service, [("ANALYZE", {})])
        rows = {f"{service}.{table}": sample(app, f"SELECT count(*) FROM {table}", service)[0][0]
                for service, table in (("console", "screen_tallies"), ("console", "screen_cases"),
                                       ("supervision", "assessment_days"),
                                       ("supervision", "assessment_months"),
                                       ("supervision", "marks"))}  # fmt: skip
        return {"cases": cases, "seconds": round(time.perf_counter() - started, 1), "rows": rows}

    return fill


def _keyed(
    per_day: float, app: Settings, streets: list[str], grids: list[str]
) -> dict[str, list[Any]]:
    """Every ``(metric, key)`` of a day's screen counters, with its mean count."""
    categories = [c.code for c in categories_of(app.config_dir)]
    keyed: list[tuple[str, str, float]] = [("received", "", per_day), ("desk", "", per_day * 0.15),
                                           ("dispatched", "", per_day * 0.8),
                                           ("red_risk", "", per_day / 50)]  # fmt: skip
    keyed += [("received", line, per_day * share) for line, share in LINES.items()]
    keyed += [("category", code, per_day / len(categories)) for code in categories]
    keyed += [("street", code, per_day / len(streets)) for code in streets]
    keyed += [("grid", code, per_day / len(grids)) for code in grids]
    for metric in BY_STREET:
        keyed += [(metric, "", per_day / 2)]
        keyed += [(metric, code, per_day / 2 / len(streets)) for code in streets]
    metrics, keys, means = zip(*keyed, strict=True)
    return {"metric": list(metrics), "key": list(keys), "mean": list(means)}


def _units(per_day: float, app: Settings, grids: list[tuple[str, str]]) -> dict[str, list[Any]]:
    """Every unit a case is dispatched to: the departments, the street centres, the grids."""
    departments = {c.department["code"]: c.department for c in categories_of(app.config_dir)}
    departments |= {c["code"]: c for c in street_centres(app.config_dir).values()}
    units = [("department", d["code"], d["name"], per_day * (1 - GRID_SHARE) / len(departments))
             for d in departments.values()]  # fmt: skip
    units += [("grid", code, name, per_day * GRID_SHARE / len(grids)) for code, name in grids]
    kinds, codes, names, means = zip(*units, strict=True)
    return {"kind": list(kinds), "code": list(codes), "name": list(names), "mean": list(means)}


def periods(today: date) -> dict[str, str]:
    """Last month and last year, as 一单考评 names them."""
    last_month = today.replace(day=1) - timedelta(days=1)
    return {"month": last_month.strftime("%Y-%m"), "year": str(today.year - 1)}


def run_data_counters(cases: int, calls: int) -> dict[str, Any]:
    """The calls on PostgreSQL; nothing when it does not answer."""
    with postgres() as url:
        if url is None:
            log("data-counters: PostgreSQL does not answer: no figures")
            return {}
        with loaded_platform(url, fill_counters(cases)) as (platform, _app, filled, now):
            desk = Desk(platform.service_urls("console")[0], "admin")
            paths = {"screen": "/api/v1/screen"}
            paths |= {f"assessment_{name}": f"/api/v1/assessment?period={period}"
                      for name, period in periods(now.date()).items()}  # fmt: skip
            figures: dict[str, Any] = {"filled": filled}
            for name, path in paths.items():
                log(f"data-counters: {name}")
                desk.get(path)  # the screen's names fetched and kept, as after its first call
                figures[name] = desk.series([path] * calls)
                figures[name]["goal_ok"] = figures[name].get("p95", 1e9) < GOAL_MS
            figures["rss_mb"] = {n: peak_rss_mb(p.pid) for n, p in platform.processes.items()}
    flat = {f"data_counters_{n}_p95_ms": figures[n].get("p95") for n in paths}
    return {"data_counters": figures} | flat
