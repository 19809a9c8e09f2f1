"""The big screen (中心大屏): today's figures, the trends, rankings and ticker, counted from the
events as they happen (``screen_counts``) and read back as sums of a few days' counters.

A day is Beijing's. Each event counts once, however often it is delivered: its id is
recorded in the same transaction as the counts it moves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from contracts.desk import CENTRE_SOURCE
from contracts.events import (
    CASE_AWAITING_DISPATCH,
    CASE_CLOSED,
    CASE_CONCLUDED,
    CASE_DISPATCHED,
    CASE_ESCALATED,
    CASE_RECEIVED,
    SLA_OVERDUE,
    SUPERVISION_RED_RISK,
    Envelope,
)
from services.console.screen_counts import (
    NO_CATEGORY,
    PlacedCase,
    Tick,
    case_ids,
    day_of,
    effect_of,
)
from services.console.unit_of_work import ConsoleReads, ConsoleUnitOfWork, Tallied

COUNTED = (
    CASE_RECEIVED, CASE_DISPATCHED, SLA_OVERDUE, CASE_ESCALATED, CASE_CLOSED, CASE_CONCLUDED
)  # fmt: skip
"""The events the day's figures count."""
FOLLOWED = (*COUNTED, CASE_AWAITING_DISPATCH, SUPERVISION_RED_RISK)
"""The events the screen's counters follow."""
LINES = ("hotline", "grid", "opinion", "petition")
TREND_DAYS, WEEK, TOP, TICKER, POINTS = 30, 7, 8, 20, 3000
UNNAMED_CATEGORIES = {NO_CATEGORY: "未分类"}
OTHER_CATEGORY = "其他类别"
"""A category the catalogue no longer has: the screen shows no raw codes."""
WEEKLY = ("category", "street", "grid")
"""Counted by key for the week only (top categories, hot spots): a grid's row a day is most of
the counters, so a month of them is not read."""
SHOWN = ("received", "desk", "concluded", *WEEKLY, "on_time", "late", "satisfied",
         "unsatisfied", "overdue")  # fmt: skip
MONTHLY = tuple(metric for metric in SHOWN if metric not in WEEKLY)


def metrics_of(event: Envelope[Any]) -> list[str]:
    """The day's figures an event moves."""
    data = event.data
    if event.type == CASE_RECEIVED.type:
        desk = ["received.desk"] if data.source == CENTRE_SOURCE else []
        return [f"received.{data.channel}", *desk]
    if event.type == CASE_CONCLUDED.type:  # 直办 counted as such; other conclusions are not
        return ["handled_at_desk"] if data.at_desk else []
    if event.type == CASE_CLOSED.type:
        good = data.satisfaction in ("satisfied", "basically_satisfied")
        return (
            ["closed", "revisited", *(["satisfied"] if good else [])]
            if data.satisfaction
            else ["closed"]
        )
    return {CASE_DISPATCHED.type: ["dispatched"], SLA_OVERDUE.type: ["overdue"],
            CASE_ESCALATED.type: ["escalated"]}[event.type]  # fmt: skip


COUNTED_TYPES = frozenset(spec.type for spec in COUNTED)
FOLLOWED_TYPES = frozenset(spec.type for spec in FOLLOWED)


def count_events(uow: ConsoleUnitOfWork, events: Sequence[Envelope[Any]]) -> None:
    """Count a burst of events in one transaction; one seen before counts nothing."""
    with uow:
        fresh = uow.first_times(event.event_id for event in events)
        new = [event for event in events if fresh.take(event.event_id)]
        for event in new:
            if event.type not in FOLLOWED_TYPES:
                raise KeyError(f"the screen does not count {event.type}")
        tally: Counter[tuple[str, str]] = Counter()
        for event in new:
            if event.type in COUNTED_TYPES:
                tally.update((day_of(event.occurred_at), m) for m in metrics_of(event))
        uow.screen.count(tally)
        follow(uow, new)
        uow.commit()


def follow(uow: ConsoleUnitOfWork, events: Sequence[Envelope[Any]]) -> None:
    """The counters by line, category, street and grid, the cases placed, the ticker."""
    cases = uow.screen.placed(case_ids(events))
    changed: dict[str, PlacedCase] = {}
    counts: Counter[tuple[str, str, str]] = Counter()
    ticks: list[Tick] = []
    for event in events:  # in the order they came: a case's steps build on each other
        effect = effect_of(event, cases.get(event.case_id or ""))
        counts.update(effect.counts)
        if effect.case is not None:
            cases[effect.case.case_id] = changed[effect.case.case_id] = effect.case
        if effect.tick is not None:
            ticks.append(effect.tick)
    uow.screen.tally(counts)
    uow.screen.keep(changed.values())
    uow.screen.tick(ticks)


@dataclass(frozen=True)
class Names:
    """What the screen calls streets, grids and categories by code."""

    streets: Mapping[str, str] = field(default_factory=dict)
    grids: Mapping[str, str] = field(default_factory=dict)
    categories: Mapping[str, str] = field(default_factory=dict)


def screen(reads: ConsoleReads, now: datetime, names: Names | None = None) -> dict[str, Any]:
    """Today's figures, the trends and rankings, the ticker and today's points."""
    day = day_of(now)
    first, week = _days(day, TREND_DAYS)[0], _days(day, WEEK)[0]
    with reads:
        counts = reads.screen.counts(day)
        rows = reads.screen.tallied(first, day, MONTHLY) + reads.screen.tallied(week, day, WEEKLY)
        ticker = reads.screen.ticker(TICKER)
        points = reads.screen.points(day, POINTS)
    return {
        **screen_of(day, counts),
        **figures_of(day, rows, names or Names()),
        "ticker": [{"at": t.at.isoformat(), "kind": t.kind, "case_id": t.case_id,
                    "unit": t.unit, "detail": t.detail} for t in ticker],
        "points": [{"lat": p.lat, "lon": p.lon, "risk": p.risk} for p in points],
    }  # fmt: skip


def screen_of(day: str, counts: dict[str, int]) -> dict[str, Any]:
    revisited = counts.get("revisited", 0)
    return {
        "date": day,
        "received": {line: counts.get(f"received.{line}", 0) for line in LINES},
        "received_at_desk": counts.get("received.desk", 0),
        "handled_at_desk": counts.get("handled_at_desk", 0),
        "dispatched": counts.get("dispatched", 0), "overdue": counts.get("overdue", 0),
        "escalated": counts.get("escalated", 0), "closed": counts.get("closed", 0),
        "satisfaction_rate": counts.get("satisfied", 0) / revisited if revisited else None,
    }  # fmt: skip


def _days(last: str, count: int) -> list[str]:
    end = date.fromisoformat(last)
    return [(end - timedelta(days=back)).isoformat() for back in range(count - 1, -1, -1)]


def figures_of(day: str, rows: Sequence[Tallied], names: Names) -> dict[str, Any]:
    """The trends (7 and 30 days), top categories and hot spots of the week, the streets'
    ranking over 30 days, from the counters' rows."""
    week = set(_days(day, WEEK))
    by: dict[tuple[str, str], Counter[str]] = {}
    for row_day, metric, key, count in rows:
        if metric in WEEKLY and row_day not in week:
            continue
        if metric in ("received", "concluded", "desk") and key == "":
            by.setdefault((metric, ""), Counter())[row_day] += count
        else:
            by.setdefault((metric, "by_key"), Counter())[key] += count
    trend = [{"day": d, "received": by.get(("received", ""), Counter())[d],
              "concluded": by.get(("concluded", ""), Counter())[d]}
             for d in _days(day, TREND_DAYS)]  # fmt: skip
    keyed = {metric: by.get((metric, "by_key"), Counter()) for metric in SHOWN}
    return {
        "desk": by.get(("desk", ""), Counter())[day],
        "trend_7": trend[-WEEK:],
        "trend_30": trend,
        "categories": _top(
            keyed["category"], {**names.categories, **UNNAMED_CATEGORIES}, OTHER_CATEGORY
        ),
        "hot_streets": _top(keyed["street"], names.streets),
        "hot_grids": _top(keyed["grid"], names.grids),
        "streets": street_ranking(keyed, names.streets),
    }


def _top(
    counts: Counter[str], named: Mapping[str, str], unknown: str | None = None
) -> list[dict[str, Any]]:
    """The most counted, named (a code no longer known by ``unknown``, else by itself)."""
    return [{"code": code, "name": named.get(code, unknown or code), "count": count}
            for code, count in counts.most_common(TOP) if code and count > 0]  # fmt: skip


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def street_ranking(
    keyed: Mapping[str, Counter[str]], named: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each street's on-time rate (办结及时率) and satisfaction (满意率) over 30 days, best
    first; streets with neither are left out."""
    codes = {code for metric in ("on_time", "late", "satisfied", "unsatisfied")
             for code in keyed[metric] if code}  # fmt: skip
    ranked = []
    for code in codes:
        on_time, late = keyed["on_time"][code], keyed["late"][code]
        good, bad = keyed["satisfied"][code], keyed["unsatisfied"][code]
        ranked.append({"code": code, "name": named.get(code, code),
                       "on_time_rate": _rate(on_time, on_time + late),
                       "satisfaction_rate": _rate(good, good + bad),
                       "concluded": on_time + late, "overdue": keyed["overdue"][code]})  # fmt: skip
    return sorted(ranked, key=lambda r: (-(r["on_time_rate"] or 0),
                                         -(r["satisfaction_rate"] or 0), r["code"]))  # fmt: skip
