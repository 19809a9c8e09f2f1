"""``make bench`` (``python -m bench.run`` from the repository root): the figures README.md and
docs/performance.md cite, as ONE JSON line on stdout (also in ``bench/results/latest.json``);
progress on stderr. Every platform gets its own vhost, database and ports (through
``tests.support.harness``), removed at the end. ``bench/README.md`` explains every key.

``--baseline REF`` compares the end-to-end figures of another commit with this tree's, in
alternating runs on this machine: REF is checked out with ``git worktree add`` into a temp dir
and its services run from there (this venv; PYTHONPATH and the working directory point at it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import log, postgres_database
from bench.e2e import Sizes, e2e_postgres, e2e_sqlite, lines_of
from bench.lines import MIX
from tests.support.harness import ALL_SERVICES, REPO, temporary_vhost

RESULTS = REPO / "bench" / "results" / "latest.json"
PARTS = (
    "raw",
    "hop",
    "e2e",
    "hotline",
    "latency",
    "e2e-postgres",
    "scaling",
    "intake-http",
    "intake-amqp",
    "grid",
    "clocks",
    "notify",
    "data-scale",
    "data-counters",
)
OPT_IN = ("data-scale", "data-counters")
"""Parts that run only when ``--only`` names them: they take longer than the rest together."""
GROUPS = {
    "platform": ("e2e", "hotline", "latency", "e2e-postgres", "scaling"),
    "intake": ("intake-http", "intake-amqp"),
}
GOALS = (  # name, figure, at least (True) or at most, threshold
    ("e2e_250", "e2e_sqlite_cases_per_s", True, 250.0),
    ("hotline_http_250", "e2e_hotline_http_cases_per_s", True, 250.0),
    ("e2e_postgres_250", "e2e_postgres_cases_per_s", True, 250.0),
    ("e2e_quarter_of_raw", "ratio", True, 0.25),
    ("latency_p99_250ms", "latency_at_50_per_s_p99_ms", False, 250.0),
    ("rss_250mb", "e2e_max_rss_mb", False, 250.0),
    ("intake_http_500", "intake_http_per_s", True, 500.0),
    ("intake_amqp_1000", "intake_amqp_drain_per_s", True, 1000.0),
    ("locate_rpc_p99_10ms", "locate_rpc_p99_ms", False, 10.0),
    ("clock_scan_sqlite_1s", "clock_scan_sqlite_find_ms", False, 1000.0),
    ("clock_scan_postgresql_1s", "clock_scan_postgresql_find_ms", False, 1000.0),
    ("notify_50", "notify_one_instance_per_s", True, 50.0),
    ("notify_scaling_2_4", "notify_scaling", True, 2.4),
    *(
        (f"data_counters_{call}_200ms", f"data_counters_{call}_p95_ms", False, 200.0)
        for call in ("screen", "assessment_month", "assessment_year")
    ),
    *(
        (f"data_scale_{db}_{name}", f"data_scale_{db}_{key}", at_least, limit)
        for db in ("postgresql", "sqlite")
        for name, key, at_least, limit in (
            ("list_p95_300ms", "list_p95_ms", False, 300.0),
            ("case_page_p95_100ms", "case_page_p95_ms", False, 100.0),
            ("board_p95_300ms", "board_p95_ms", False, 300.0),
            ("export_5000", "export_rows_per_s", True, 5000.0),
            ("rss_250mb", "max_rss_mb", False, 250.0),
        )
    ),
)


def platform_figures(parts: Sequence[str], sizes: Sizes, scale: str | None) -> dict[str, Any]:
    """The e2e parts, flattened into report keys."""
    report: dict[str, Any] = {}
    if {"e2e", "hotline", "latency"} & set(parts):
        measured = e2e_sqlite(parts, sizes)
        for key, run in (
            ("e2e_sqlite", measured.get("e2e_sqlite")),
            ("e2e_hotline_http", measured.get("e2e_hotline_http")),
        ):
            if run:
                report[f"{key}_cases_per_s"], report[key] = run["cases_per_s"], run
        if "e2e_sqlite" in measured:
            report["e2e_cases_per_s"] = report["e2e_sqlite_cases_per_s"]
            report["e2e_mix"] = lines_of(MIX)
        if latency := measured.get("latency"):
            report["latency_at_50_per_s_ms"] = latency["received_to_routed_ms"]
            report["latency_at_50_per_s_p99_ms"] = latency["received_to_routed_ms"]["p99"]
            report["latency_received_to_decided_ms"] = latency["received_to_decided_ms"]
            report["latency_offered_per_s"] = latency["offered_per_s"]
            report["latency_send_lag_p99_ms"] = latency["send_lag_p99_ms"]
    if {"e2e-postgres", "scaling"} & set(parts):
        busiest = scale or bottleneck(report.get("e2e_sqlite")) or "intake"
        measured = e2e_postgres(parts, sizes, busiest)
        if run := measured.get("e2e_postgres"):
            report["e2e_postgres_cases_per_s"], report["e2e_postgres"] = run["cases_per_s"], run
        if scaling := measured.get("scaling"):
            report["scaling"], report["scaling_service"] = scaling["rows"], scaling["service"]
            report["scaling_database"] = scaling["database"]
    runs = [report.get(key) for key in ("e2e_sqlite", "e2e_hotline_http", "e2e_postgres")]
    peaks = [s["rss_mb"] for run in runs if run for s in run["per_service"].values() if s["rss_mb"]]
    if peaks:
        report["e2e_max_rss_mb"] = max(peaks)
    return report


def bottleneck(run: dict[str, Any] | None) -> str | None:
    if not run:
        return None
    per_service = run["per_service"]
    return str(max(per_service, key=lambda name: per_service[name]["cpu_ms_per_case"]))


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from bench.clocks import run_clock_scan_bench
    from bench.grid import locate_over_rpc
    from bench.hops import hops, raw_hop
    from bench.intake import intake_alone
    from bench.notify import run_notify_bench

    parts, report = args.parts, dict[str, Any]()
    log(f"parts: {', '.join(parts)}")
    with temporary_vhost() as uri:
        if "raw" in parts:  # first, while no platform competes for the CPU
            report["raw_pika_hop_msgs_per_s"] = round(raw_hop(uri, args.raw_messages), 1)
        if "hop" in parts:
            report |= hops(uri, args.hop_events)
    report |= platform_figures(parts, args.sizes, args.scale_service)
    if {"intake-http", "intake-amqp"} & set(parts):
        report |= intake_alone(parts, args.intake_tickets, args.intake_messages, args.clients)
    if "grid" in parts:
        report |= locate_over_rpc()
    if "notify" in parts:
        with postgres_database() as url:  # several instances write side by side on PostgreSQL
            report |= run_notify_bench(url)
    if "clocks" in parts:  # last: a million rows leave the disk and PostgreSQL busy
        report |= run_clock_scan_bench()
    if "data-scale" in parts:
        from bench.data_scale import run_data_scale

        report |= run_data_scale(args.scale_postgres_cases, args.scale_sqlite_cases,
                                 args.scale_calls, args.scale_keep)  # fmt: skip
    if "data-counters" in parts:
        from bench.data_scale_counters import run_data_counters

        report |= run_data_counters(args.scale_postgres_cases, args.scale_calls)
    if report.get("raw_pika_hop_msgs_per_s") and report.get("e2e_sqlite_cases_per_s"):
        report["ratio"] = round(
            report["e2e_sqlite_cases_per_s"] / report["raw_pika_hop_msgs_per_s"], 4
        )
    report["goals"] = {
        name: None
        if report.get(key) is None
        else (report[key] >= limit if at_least else report[key] <= limit)
        for name, key, at_least, limit in GOALS
    }
    return report | {
        "parts": list(parts),
        "clients": args.clients,
        "cases": args.sizes.cases,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


# --------------------------------------------------------------------------- old against new


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """``ref``'s tree in a temp dir (``git worktree add --detach``), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="civicflow-baseline-") as folder:
        tree = Path(folder) / "tree"
        git = ["git", "-C", str(REPO), "worktree"]
        subprocess.run([*git, "add", "--detach", str(tree), ref], check=True, capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run([*git, "remove", "--force", str(tree)], check=False)


COMPARED = {
    "four lines mixed": ("e2e_sqlite", "cases_per_s"),
    "12345 over HTTP, new connections": ("e2e_hotline_http", "cases_per_s"),
    "p99 received→routed at 50/s, ms": ("latency", "received_to_routed_ms", "p99"),
}


LARGEST_RSS = "largest service's peak RSS, MB"


def largest_rss(measured: dict[str, Any]) -> float:
    """The largest peak RSS of any service in the runs of one platform."""
    return float(
        max(
            service["rss_mb"]
            for run in measured.values()
            for service in run.get("per_service", {}).values()
            if service.get("rss_mb")
        )
    )


def compare(ref: str, pairs: int, sizes: Sizes) -> dict[str, Any]:
    """``pairs`` × (REF, this tree), alternating, each on a platform of its own; every
    figure of both sides, their means, and this tree's over REF's."""
    parts = ("e2e", "hotline", "latency")
    runs: dict[str, list[dict[str, Any]]] = {ref: [], "this tree": []}
    with checkout(ref) as tree:
        for pair in range(1, pairs + 1):
            for side, code in ((ref, tree), ("this tree", REPO)):
                log(f"pair {pair}/{pairs}: {side}")
                measured = e2e_sqlite(parts, sizes, code)
                figures = {}
                for name, path in COMPARED.items():
                    value: Any = measured
                    for step in path:
                        value = value[step]
                    figures[name] = value
                figures[LARGEST_RSS] = largest_rss(measured)
                runs[side].append(figures)
    names = (*COMPARED, LARGEST_RSS)
    means = {
        side: {name: round(sum(r[name] for r in got) / len(got), 1) for name in names}
        for side, got in runs.items()
    }
    ratio = {name: round(means["this tree"][name] / means[ref][name], 3) for name in names}
    for name in names:
        log(
            f"{name}: {ref} {[r[name] for r in runs[ref]]} mean {means[ref][name]}; this tree "
            f"{[r[name] for r in runs['this tree']]} mean {means['this tree'][name]}; "
            f"ratio {ratio[name]}"
        )
    return {
        "baseline": ref,
        "pairs": pairs,
        "runs": runs,
        "means": means,
        "this_tree_over_baseline": ratio,
    }


# --------------------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add(
        "--only",
        action="append",
        metavar="PART[,PART]",
        help=f"run these parts only: {', '.join(PARTS)}; or a group: {', '.join(GROUPS)}",
    )
    add("--cases", type=int, default=3000, help="cases per end-to-end batch (3000)")
    add("--clients", type=int, default=16, help="clients of the closed-loop batches (16)")
    add("--latency-rate", type=float, default=50.0, help="cases a second offered (50)")
    add("--latency-seconds", type=float, default=30.0, help="length of that phase (30)")
    add("--timeout", type=float, default=120.0, help="seconds allowed a batch to be routed")
    add("--raw-messages", type=int, default=20000, help="messages of the raw hop (20000)")
    add("--hop-events", type=int, default=3000, help="events through each single hop (3000)")
    add("--intake-tickets", type=int, default=3000, help="tickets POSTed to intake alone")
    add("--intake-messages", type=int, default=20000, help="tickets for intake's drain")
    add("--scale-service", choices=ALL_SERVICES, help="default: the most CPU a case on SQLite")
    add("--scale-postgres-cases", type=int, default=2_000_000, help="data-scale, PostgreSQL")
    add("--scale-sqlite-cases", type=int, default=200_000, help="data-scale, SQLite")
    add("--scale-keep", metavar="NAME", help="data-scale: keep (or reuse) PostgreSQL db NAME")
    add("--scale-calls", type=int, default=50, help="data-scale: calls of each kind (50)")
    add("--baseline", metavar="REF", help="compare REF's end-to-end figures with this tree's")
    add("--pairs", type=int, default=2, help="alternating runs of each side with --baseline")
    add("--results", type=Path, default=RESULTS, help=f"where the report goes ({RESULTS})")
    args = parser.parse_args(argv)
    chosen = {name.strip() for value in args.only or [] for name in value.split(",") if name}
    unknown = chosen - set(PARTS) - set(GROUPS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    wanted = {part for name in chosen for part in GROUPS.get(name, (name,))}
    args.parts = tuple(
        part for part in PARTS if part in wanted or (not chosen and part not in OPT_IN)
    )
    args.sizes = Sizes(
        args.cases, args.clients, args.latency_rate, args.latency_seconds, args.timeout
    )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # clean up too
    started = time.monotonic()
    report = compare(args.baseline, args.pairs, args.sizes) if args.baseline else run_bench(args)
    report["bench_seconds"] = round(time.monotonic() - started, 1)
    if args.baseline and args.results == RESULTS:  # latest.json stays a full report, for plot
        args.results = RESULTS.with_name("compare.json")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(report, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
