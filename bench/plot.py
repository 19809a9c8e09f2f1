"""Draw a bench report: ``bench/plot.py REPORT.json [--out docs/performance.png]``.

Two panels: throughput (raw pika hop, nameko hop, kit hop, e2e on SQLite and on PostgreSQL,
and the e2e rate with 1, 2 and 3 instances of the scaled service), with the goal of 250 cases
a second; and the latency at 50 cases a second (p50, p95, p99, received → routed) with its goal
of 250 ms. A figure the report does not have (its part did not run) is drawn as "n/a".

Needs matplotlib (the ``bench`` extra: ``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "docs" / "performance.png"
E2E_GOAL = 250.0
LATENCY_GOAL_MS = 250.0
MISSING_MATPLOTLIB = (
    "bench/plot.py needs matplotlib, which is not installed in this environment.\n"
    "Install the bench extra:  .venv/bin/pip install -e '.[bench]'  "
    "(or: .venv/bin/pip install matplotlib)"
)


def throughput_bars(report: Mapping[str, Any]) -> list[tuple[str, float | None, str]]:
    """(label, value or None, colour group) of each throughput bar, in order."""
    bars: list[tuple[str, float | None, str]] = [
        ("raw pika hop", report.get("raw_pika_hop_msgs_per_s"), "hop"),
        ("nameko hop", report.get("nameko_single_hop_events_per_s"), "hop"),
        ("kit hop", report.get("kit_single_hop_events_per_s"), "hop"),
        ("e2e SQLite", report.get("e2e_sqlite_cases_per_s"), "e2e"),
        ("e2e PostgreSQL", report.get("e2e_postgres_cases_per_s"), "e2e"),
    ]
    service = report.get("scaling_service") or "?"
    rows = {row.get("instances"): row.get("cases_per_s") for row in report.get("scaling") or []}
    for instances in (1, 2, 3):
        bars.append((f"{service} ×{instances}", rows.get(instances), "scaling"))
    return bars


def latency_bars(report: Mapping[str, Any]) -> list[tuple[str, float | None]]:
    latency = report.get("latency_at_50_per_s_ms") or {}
    return [(name, latency.get(name)) for name in ("p50", "p95", "p99")]


def draw(report: Mapping[str, Any], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit(MISSING_MATPLOTLIB) from None

    colours = {"hop": "#7f8c8d", "e2e": "#2c7fb8", "scaling": "#41b6c4", "latency": "#f03b20"}
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [3, 1.2]}
    )
    bars = throughput_bars(report)
    plot_bars(left, [(label, value) for label, value, _ in bars], [colours[g] for *_, g in bars])
    left.axhline(E2E_GOAL, color="#d95f0e", linestyle="--", linewidth=1)
    left.annotate(
        f"e2e goal {E2E_GOAL:.0f}/s",
        (len(bars) - 0.5, E2E_GOAL),
        xytext=(0, 3),
        textcoords="offset points",
        ha="right",
        color="#d95f0e",
        fontsize=8,
    )
    database = report.get("scaling_database") or ""
    left.set_title(f"throughput (messages, events or cases per second; scaling on {database})")
    left.set_ylabel("per second")
    lat = latency_bars(report)
    plot_bars(right, lat, [colours["latency"]] * len(lat))
    right.axhline(LATENCY_GOAL_MS, color="#d95f0e", linestyle="--", linewidth=1)
    right.annotate(
        f"p99 goal {LATENCY_GOAL_MS:.0f} ms",
        (-0.45, LATENCY_GOAL_MS),
        xytext=(0, 3),
        textcoords="offset points",
        ha="left",
        color="#d95f0e",
        fontsize=8,
        bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
    )
    offered = report.get("latency_offered_per_s") or 50
    right.set_title(f"latency at {offered:g} cases/s, received → routed")
    right.set_ylabel("ms")
    stamp = ", ".join(
        part
        for part in (
            f"broker {report.get('broker')}" if report.get("broker") else "",
            f"{report.get('cpus')} CPUs" if report.get("cpus") else "",
            f"Python {report.get('python')}" if report.get("python") else "",
        )
        if part
    )
    figure.suptitle(f"civicflow make bench ({stamp})", fontsize=11)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    plt.close(figure)


def plot_bars(axes: Any, bars: Sequence[tuple[str, float | None]], colours: Sequence[str]) -> None:
    """Bars with their value above them; a missing value drawn as an empty "n/a" slot."""
    positions = range(len(bars))
    heights = [value or 0.0 for _, value in bars]
    drawn = axes.bar(positions, heights, color=colours)
    for bar, (_, value) in zip(drawn, bars, strict=True):
        text = "n/a" if value is None else f"{value:,.0f}"
        axes.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            xytext=(0, 2),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.set_xticks(list(positions), [label for label, _ in bars], rotation=25, ha="right")
    axes.margins(y=0.12)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/plot.py", description=__doc__)
    parser.add_argument("report", type=Path, help="a report of bench.run (JSON)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read the report {args.report}: {exc}", file=sys.stderr)
        return 1
    if not isinstance(report, dict):
        print(f"{args.report}: not a bench report (a JSON object)", file=sys.stderr)
        return 1
    draw(report, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
