"""The big screen's counters (中心大屏), pure: what each event adds to a Beijing day's counters
by line, category, street and grid, what the screen keeps of a case to count its later steps
where it lies, and the ticker's lines. ``screen`` runs them in a unit of work and reads the
sums back; nothing here reads a database or the broker.

A counter is ``(day, metric, key)``: ``key`` is what it is counted by (a line, a category, a
street, a grid) or ``""`` for the day's total. A case is placed (counted in its street and grid,
the hot spots) once, on the first event that says where it lies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

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

SCREEN_DAY_ZONE: Final = ZoneInfo("Asia/Shanghai")
DESK_SOURCE: Final = "centre"
"""The source of the cases the centre registers at its own desk (直办)."""
NO_CATEGORY: Final = "none"
SATISFIED: Final = ("satisfied", "basically_satisfied")

Counter = tuple[str, str, str]
"""``(day, metric, key)``."""


def day_of(moment: datetime) -> str:
    """The Beijing day of a moment, as ``YYYY-MM-DD``."""
    return moment.astimezone(SCREEN_DAY_ZONE).date().isoformat()


@dataclass(frozen=True)
class PlacedCase:
    """What the screen keeps of a case: the day it came, its risk and point (today's map),
    where it lies (street, grid) and its resolve limit (on time or late)."""

    case_id: str
    day: str
    risk: str = "blue"
    lat: float | None = None
    lon: float | None = None
    street: str | None = None
    grid: str | None = None
    resolve_by: datetime | None = None


@dataclass(frozen=True)
class Tick:
    """A line of the ticker."""

    event_id: str
    at: datetime
    kind: str  # overdue | escalated | red_risk
    case_id: str
    unit: str = ""
    detail: str = ""


@dataclass
class Effect:
    """What one event does: counters to add to, the case as kept after it, a ticker line."""

    counts: list[Counter] = field(default_factory=list)
    case: PlacedCase | None = None
    tick: Tick | None = None


def _by_street(day: str, metric: str, case: PlacedCase | None) -> list[Counter]:
    """The day's total, and the street's when the case is placed."""
    counted = [(day, metric, "")]
    if case is not None and case.street:
        counted.append((day, metric, case.street))
    return counted


def effect_of(event: Envelope[Any], known: PlacedCase | None) -> Effect:
    """What ``event`` adds, given what was kept of its case (None: nothing yet)."""
    day, data, case_id = day_of(event.occurred_at), event.data, event.case_id or ""
    kind = event.type
    if kind == CASE_RECEIVED.type:
        return _received(event, known)
    case = known or PlacedCase(case_id, day)
    if kind in (CASE_DISPATCHED.type, CASE_AWAITING_DISPATCH.type):
        return _placed(event, case)
    if kind == CASE_CONCLUDED.type:
        counts = _by_street(day, "concluded", known)
        if known is not None and known.resolve_by is not None:
            verdict = "on_time" if event.occurred_at <= known.resolve_by else "late"
            counts += _by_street(day, verdict, known)
        return Effect(counts)
    if kind == CASE_CLOSED.type:
        counts = _by_street(day, "closed", known)
        if data.satisfaction is not None:
            verdict = "satisfied" if data.satisfaction in SATISFIED else "unsatisfied"
            counts += _by_street(day, verdict, known)
        return Effect(counts)
    if kind == SLA_OVERDUE.type:
        unit = data.assignee.name if data.assignee is not None else ""
        tick = Tick(event.event_id, event.occurred_at, "overdue", case_id, unit, data.clock)
        return Effect(_by_street(day, "overdue", known), tick=tick)
    if kind == CASE_ESCALATED.type:
        tick = Tick(event.event_id, event.occurred_at, "escalated", case_id, data.unit or "",
                    data.to_level)  # fmt: skip
        return Effect(_by_street(day, "escalated", known), tick=tick)
    if kind == SUPERVISION_RED_RISK.type:
        unit = data.assignee.name if data.assignee is not None else ""
        tick = Tick(event.event_id, event.occurred_at, "red_risk", case_id, unit,
                    data.category or "")  # fmt: skip
        return Effect([(day, "red_risk", "")], tick=tick)
    return Effect()


def _received(event: Envelope[Any], known: PlacedCase | None) -> Effect:
    day, data = day_of(event.occurred_at), event.data
    counts = [(day, "received", ""), (day, "received", data.channel),
              (day, "category", data.category or NO_CATEGORY)]  # fmt: skip
    if data.source == DESK_SOURCE:
        counts.append((day, "desk", ""))
    point = data.location
    case = replace(
        known or PlacedCase(event.case_id or "", day),
        day=day, risk=data.risk,
        lat=point.lat if point is not None else None,
        lon=point.lon if point is not None else None,
        grid=(known.grid if known is not None else None) or data.grid_code,
    )  # fmt: skip
    return Effect(counts, case)


def _placed(event: Envelope[Any], case: PlacedCase) -> Effect:
    day, data = day_of(event.occurred_at), event.data
    counts: list[Counter] = []
    street, grid = data.territory.get("street"), data.territory.get("grid") or case.grid
    if case.street is None and street:
        counts += [(case.day, "street", street)]
        if grid:
            counts += [(case.day, "grid", grid)]
        case = replace(case, street=street, grid=grid)
    if event.type == CASE_DISPATCHED.type:
        counts.append((day, "dispatched", ""))
        case = replace(case, resolve_by=data.deadlines.resolve_by, risk=data.risk)
    return Effect(counts, case)


def case_ids(events: Iterable[Envelope[Any]]) -> set[str]:
    return {event.case_id for event in events if event.case_id is not None}
