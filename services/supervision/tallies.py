"""一单考评 by counters: what one assignment adds to its unit's day, and a period's assessment
from the sums of those days. Pure: ``counting`` keeps the counters, ``reports`` reads them.

An assignment is counted on the Beijing day it was dispatched, so a period (whole Beijing days)
sums exactly the assignments the scan of ``assessment.assess`` would read. Its figures follow
the same rules, decided as the facts land instead of at the moment of asking: a clock still
running before its alert is not counted yet; the scanner's overdue alert, raised when it falls
due, is what counts it late (the scan would also count it late between its due time and the
scanner's next tick).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from services.supervision.assessment import (
    BEIJING,
    AssessmentConfig,
    AssignmentRecord,
    UnitAssessment,
    clock_verdict,
    scored,
)
from services.supervision.tallied import TALLIED

Tally = dict[str, int]


@dataclass(frozen=True)
class TallyKey:
    """Where an assignment's figures are counted: its unit (with the name it had) and day."""

    day: str
    assignee_kind: str
    assignee_code: str
    assignee_name: str


def day_of(moment: datetime) -> str:
    """The Beijing day of a moment, ``YYYY-MM-DD``."""
    return moment.astimezone(BEIJING).date().isoformat()


def key_of(record: AssignmentRecord) -> TallyKey:
    return TallyKey(day_of(record.dispatched_at), record.assignee_kind, record.assignee_code,
                    record.assignee_name)  # fmt: skip


def tally_of(record: AssignmentRecord) -> Tally:
    """What the assignment adds to its unit's day, as its facts stand."""
    tally = dict.fromkeys(TALLIED, 0)
    tally["dispatched"] = 1
    tally["returned"] = int(record.returned)
    tally["concluded"] = int(record.concluded)
    # only concluded work can be reworked (as the scan counts it)
    tally["reopened"] = int(record.reopened and record.concluded)
    tally["revisited"] = int(record.satisfaction is not None)
    tally["satisfied"] = int(record.satisfaction not in (None, "unsatisfied"))
    tally["resolved_on_site"] = int(record.on_site)
    for clock in record.clocks:
        # judged at its own due time: a running clock is decided by a stop or by its alert
        verdict = clock_verdict(clock, clock.due_at)
        if verdict is not None:
            tally[f"{clock.kind}_{verdict}"] += 1
        tally["overdue"] += int(clock.overdue)
    for grade in record.orders:
        tally[f"orders_{grade}"] += 1
    return tally


DESK: Final = TallyKey("", "desk", "centre", "中心直办")
"""直办's row among the units' days: the centre's desk (its ``day`` set per case)."""
GOOD_ANSWERS: Final = ("satisfied", "basically_satisfied")


def desk_tally(
    at_desk: Iterable[datetime], answers: Iterable[tuple[datetime, str]]
) -> tuple[TallyKey, Tally] | None:
    """What a case concluded at the desk (直办) adds to the desk's days: ``concluded`` on the
    Beijing day of its first conclusion there (a closed month's figure stays put when it is
    worked again later), ``revisited`` once answered and ``satisfied`` by its last answer,
    whenever that came. None when it was never concluded at the desk."""
    first = min(at_desk, default=None)
    if first is None:
        return None
    last = max(answers, default=None)  # by time: the last answer counts
    tally = dict.fromkeys(TALLIED, 0)
    tally["concluded"] = 1
    tally["revisited"] = int(last is not None)
    tally["satisfied"] = int(last is not None and last[1] in GOOD_ANSWERS)
    return dataclasses.replace(DESK, day=day_of(first)), tally


def changes(
    before: tuple[TallyKey, Tally] | None, after: tuple[TallyKey, Tally]
) -> dict[TallyKey, Tally]:
    """What to add to the counters when an assignment's figures go from ``before`` (None: not
    counted yet) to ``after``: the difference, or a move when its key changed. Nothing (an
    empty dict) when nothing changed."""
    moves: dict[TallyKey, Tally] = {}
    new_key, new = after
    if before is not None:
        old_key, old = before
        if old_key == new_key:
            diff = {m: new.get(m, 0) - old.get(m, 0) for m in TALLIED}
            return {new_key: diff} if any(diff.values()) else {}
        moves[old_key] = {m: -old.get(m, 0) for m in TALLIED}
    moves[new_key] = {m: new.get(m, 0) for m in TALLIED}
    return moves


@dataclass(frozen=True)
class UnitTotals:
    """A unit's counters summed over a period; ``assignee_name`` is its latest name there."""

    assignee_kind: str
    assignee_code: str
    assignee_name: str
    totals: Mapping[str, int]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def assessment_of(unit: UnitTotals, config: AssessmentConfig) -> UnitAssessment:
    """The unit's assessment from its summed counters: the scan's figures and score."""
    t = unit.totals
    rate = {kind: _ratio(t[f"{kind}_on_time"], t[f"{kind}_on_time"] + t[f"{kind}_late"])
            for kind in ("respond", "feedback", "resolve")}  # fmt: skip
    row = UnitAssessment(
        assignee_kind=unit.assignee_kind,  # type: ignore[arg-type]
        assignee_code=unit.assignee_code,
        assignee_name=unit.assignee_name,
        dispatched=t["dispatched"],
        respond_on_time_rate=rate["respond"],
        feedback_on_time_rate=rate["feedback"],
        resolve_on_time_rate=rate["resolve"],
        overdue=t["overdue"],
        return_rate=t["returned"] / t["dispatched"] if t["dispatched"] else 0.0,
        reopen_rate=_ratio(t["reopened"], t["concluded"]),
        satisfaction_rate=_ratio(t["satisfied"], t["revisited"]),
        orders=t["orders_normal"] + t["orders_yellow"] + t["orders_red"],
        yellow_cards=t["orders_yellow"],
        red_cards=t["orders_red"],
        score=0.0,
        resolved_on_site=t.get("resolved_on_site", 0),
    )
    return scored(row, t["orders_normal"], config)


def assess_totals(units: Iterable[UnitTotals], config: AssessmentConfig) -> list[UnitAssessment]:
    """One assessment per unit with a dispatch in the period, best score first (ties by code),
    as ``assessment.assess`` orders them."""
    rows = [assessment_of(unit, config) for unit in units if unit.totals["dispatched"] > 0]
    return sorted(rows, key=lambda row: (-row.score, row.assignee_code, row.assignee_kind))
