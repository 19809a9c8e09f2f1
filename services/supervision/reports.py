"""一单考评 from the rows: assignments of a period, their clocks and the orders they received."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from services.supervision.assessment import (
    AssessmentConfig,
    AssignmentRecord,
    ClockOutcome,
    Period,
    UnitAssessment,
    assess,
)
from services.supervision.domain import CLOCK_KINDS
from services.supervision.models import Assignment, ClockRow
from services.supervision.repository import SupervisionRepository


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
    return [row.as_dict() for row in rows if kind is None or row.assignee_kind == kind]
