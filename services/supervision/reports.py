"""一单考评 from the rows: from the counters of the period's days or months
(``counted_assessment``, what the RPC answers), or by reading again every assignment of the
period with its clocks and orders (``assess_period``: the scan the counters must agree with)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services.supervision.assessment import (
    AssessmentConfig,
    AssignmentRecord,
    ClockOutcome,
    Period,
    UnitAssessment,
    assess,
)
from services.supervision.domain import CLOCK_KINDS, ON_SITE
from services.supervision.models import AssessmentDay, AssessmentMonth, Assignment, ClockRow
from services.supervision.repository import SupervisionRepository
from services.supervision.tallied import TALLIED
from services.supervision.tallies import DESK, UnitTotals, assess_totals, day_of


def records_of(session: Session, period: Period) -> list[AssignmentRecord]:
    """Every dispatch made in the period, as the assessment reads it."""
    repo = SupervisionRepository(session)
    assignments = repo.assignments_between(period.start, period.end)
    ids = [a.id for a in assignments]
    clocks: dict[str, list[ClockRow]] = defaultdict(list)
    for clock in repo.clocks_owned_by(ids):
        if clock.kind in CLOCK_KINDS:
            clocks[clock.owner].append(clock)
    grades: dict[str, list[str]] = defaultdict(list)
    for order in repo.orders_for(ids):
        grades[order.assignment_id or ""].append(order.grade)
    return [record_of(a, clocks[a.id], grades[a.id]) for a in assignments]


def record_of(a: Assignment, clocks: list[ClockRow], grades: list[str]) -> AssignmentRecord:
    return AssignmentRecord(
        case_id=a.case_id, assignee_kind=a.assignee_kind, assignee_code=a.assignee_code,  # type: ignore[arg-type]
        assignee_name=a.assignee_name, level=a.level, dispatched_at=a.dispatched_at,
        clocks=tuple(
            ClockOutcome(c.kind, c.due_at, c.stopped_at, c.cancelled_at, c.overdue)  # type: ignore[arg-type]
            for c in clocks
        ),
        returned=a.returned, concluded=a.concluded, reopened=a.reopened,
        satisfaction=a.satisfaction,  # type: ignore[arg-type]
        orders=tuple(grades),  # type: ignore[arg-type]
        on_site=a.ended_by == ON_SITE,
    )  # fmt: skip


def assess_period(
    session: Session, period: Period, config: AssessmentConfig, now: datetime
) -> list[UnitAssessment]:
    return assess(records_of(session, period), config, now)


def assessment(
    session: Session, period: Period, kind: str | None, config: AssessmentConfig, now: datetime
) -> list[dict[str, Any]]:
    """The period's scores per unit and department (``kind``: of that kind only)."""
    rows = assess_period(session, period, config, now)
    found = [row.as_dict() for row in rows if kind is None or row.assignee_kind == kind]
    desk = desk_row(session, period) if kind in (None, DESK.assignee_kind) else None
    return found + ([desk] if desk else [])


def desk_row(session: Session, period: Period) -> dict[str, Any] | None:
    """直办: the matters the centre's desk concluded on the spot in the period, beside the
    units' rows, with the satisfaction their revisits gave (whenever they came): the desk's
    counters (``tallies.desk_tally``) summed over the period's days or months, one row each at
    most."""
    return desk_row_of(period_totals(session, period, DESK.assignee_kind))


def desk_row_of(totals: Iterable[UnitTotals]) -> dict[str, Any] | None:
    """The desk's row from the period's sums (None: nothing concluded at the desk)."""
    desk = next((t.totals for t in totals if t.assignee_kind == DESK.assignee_kind), None)
    if desk is None or not desk["concluded"]:
        return None
    handled, revisited, good = desk["concluded"], desk["revisited"], desk["satisfied"]
    return {
        "assignee_kind": DESK.assignee_kind, "assignee_code": DESK.assignee_code,
        "assignee_name": DESK.assignee_name, "dispatched": 0, "handled_at_desk": handled,
        "revisited": revisited, "satisfaction_rate": good / revisited if revisited else None,
    }  # fmt: skip


def period_totals(session: Session, period: Period, kind: str | None = None) -> list[UnitTotals]:
    """Each unit's counters summed over the period: a day's rows for a day, the months' for
    whole months (a year sums 12 rows a unit, not 365)."""
    months = period.months()
    if months is None:
        days = AssessmentDay
        return unit_totals(session, days, days.day, day_of(period.start), day_of(period.end), kind)
    return unit_totals(session, AssessmentMonth, AssessmentMonth.month, *months, kind)


def unit_totals(
    session: Session,
    counters: type[AssessmentDay | AssessmentMonth],
    when: Any,
    first: str,
    after: str,
    kind: str | None,
) -> list[UnitTotals]:
    """Each unit's ``counters`` rows whose ``when`` (day or month) is in [first, after) summed,
    with its name on the last of them: one grouped query over at most (days or months x units)
    rows, however many cases there were."""
    wanted = [when >= first, when < after]
    if kind is not None:
        wanted.append(counters.assignee_kind == kind)
    sums = (
        select(counters.assignee_kind, counters.assignee_code, func.max(when).label("last"),
               *(func.sum(getattr(counters, metric)).label(metric) for metric in TALLIED))
        .where(*wanted)
        .group_by(counters.assignee_kind, counters.assignee_code)
        .subquery()
    )  # fmt: skip
    named = select(sums, counters.assignee_name).join(
        counters,
        and_(when == sums.c.last, counters.assignee_kind == sums.c.assignee_kind,
             counters.assignee_code == sums.c.assignee_code),
    )  # fmt: skip
    return [
        UnitTotals(row.assignee_kind, row.assignee_code, row.assignee_name,
                   {metric: int(getattr(row, metric) or 0) for metric in TALLIED})
        for row in session.execute(named)
    ]  # fmt: skip


def counted_assessment(
    session: Session, period: Period, kind: str | None, config: AssessmentConfig
) -> list[dict[str, Any]]:
    """The period's scores per unit (``kind``: of that kind only), from the counters: the
    desk's sums come with the units' (nothing dispatched, it is no unit to score)."""
    totals = period_totals(session, period, kind)
    found = [row.as_dict() for row in assess_totals(totals, config)]
    desk = desk_row_of(totals)
    return found + ([desk] if desk else [])
