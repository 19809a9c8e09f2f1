"""一单考评 per person: the handlers (承办人) and grid workers (网格员) who acted on the cases'
steps — signed (签收), fed back (反馈), concluded (办结), resolved on site (就地化解) — beside the
per-unit figures.

A step is **on time** when it was taken by the limit of the clock it is meant to meet (signing:
respond, feedback: feedback, concluding: resolve) of the assignment it fell to; a step with no
such clock (an on-site resolution, 直办) is neither on time nor late. ``figures_of`` is pure;
``people_in`` reads the period's marks and clocks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.supervision.assessment import Period
from services.supervision.domain import ON_SITE
from services.supervision.models import Assignment, ClockRow, Mark

Step = Literal["accepted", "feedback", "concluded", "on_site"]
STEPS: Final[tuple[Step, ...]] = ("accepted", "feedback", "concluded", ON_SITE)  # type: ignore[assignment]
CLOCK_OF: Final = {"accepted": "respond", "feedback": "feedback", "concluded": "resolve"}
"""The limit each step is meant to meet."""
ROLE_OF: Final = {"department": "handler", "grid": "grid_worker"}
MACHINES: Final = frozenset({"auto", "supervision", "citizen"})
"""Steps taken by the platform itself (routing, the ladder) or the citizen: no one's figures."""


@dataclass(frozen=True)
class PersonStep:
    """One step a person took on a case, for a unit, and whether it met its limit."""

    person: str
    unit_kind: str
    unit_code: str
    unit_name: str
    step: Step
    on_time: bool | None


@dataclass(frozen=True)
class PersonFigures:
    person: str
    role: str  # handler (承办人) or grid_worker (网格员), by the unit they acted for
    unit_kind: str
    unit_code: str
    unit_name: str
    signed: int
    fed_back: int
    concluded: int
    resolved_on_site: int
    on_time: int
    late: int
    on_time_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


def figures_of(steps: Iterable[PersonStep]) -> list[PersonFigures]:
    """One row per person and unit, the most steps first (ties by person)."""
    grouped: dict[tuple[str, str, str], list[PersonStep]] = defaultdict(list)
    for step in steps:
        grouped[(step.person, step.unit_kind, step.unit_code)].append(step)
    rows = [_row(taken) for taken in grouped.values()]
    total = lambda r: r.signed + r.fed_back + r.concluded + r.resolved_on_site  # noqa: E731
    return sorted(rows, key=lambda r: (-total(r), r.person, r.unit_code))


def _row(steps: list[PersonStep]) -> PersonFigures:
    first, count = steps[0], [str(s.step) for s in steps]
    on_time = sum(s.on_time is True for s in steps)
    late = sum(s.on_time is False for s in steps)
    return PersonFigures(
        person=first.person, role=ROLE_OF.get(first.unit_kind, "handler"),
        unit_kind=first.unit_kind, unit_code=first.unit_code, unit_name=steps[-1].unit_name,
        signed=count.count("accepted"), fed_back=count.count("feedback"),
        concluded=count.count("concluded"), resolved_on_site=count.count(ON_SITE),
        on_time=on_time, late=late,
        on_time_rate=on_time / (on_time + late) if on_time + late else None,
    )  # fmt: skip


def step_of(mark: Mark, held: Assignment, clocks: Iterable[ClockRow]) -> PersonStep | None:
    """The person's step a mark records, judged against the assignment's own clock."""
    person = (mark.detail or {}).get("by")
    if not isinstance(person, str) or not person or person in MACHINES:
        return None
    kind = CLOCK_OF.get(mark.what)
    due = next((c.due_at for c in clocks if c.owner == held.id and c.kind == kind), None)
    return PersonStep(
        person, held.assignee_kind, held.assignee_code, held.assignee_name,
        mark.what,  # type: ignore[arg-type]
        None if due is None else mark.at <= due,
    )  # fmt: skip


def people_in(session: Session, period: Period) -> list[dict[str, Any]]:
    """The period's per-person figures: the steps taken in it."""
    marks = list(
        session.scalars(
            select(Mark)
            .where(Mark.what.in_(STEPS), Mark.at >= period.start, Mark.at < period.end)
            .order_by(Mark.at)
        )
    )
    case_ids = sorted({mark.case_id for mark in marks})
    held: dict[str, list[Assignment]] = defaultdict(list)
    clocks: dict[str, list[ClockRow]] = defaultdict(list)
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start : start + 500]
        for row in session.scalars(select(Assignment).where(Assignment.case_id.in_(chunk))):
            held[row.case_id].append(row)
        for clock in session.scalars(select(ClockRow).where(ClockRow.case_id.in_(chunk))):
            clocks[clock.case_id].append(clock)
    steps = []
    for mark in marks:
        assignment = _holding(held[mark.case_id], mark.at)
        step = step_of(mark, assignment, clocks[mark.case_id]) if assignment else None
        if step is not None:
            steps.append(step)
    return [row.as_dict() for row in figures_of(steps)]


def _holding(assignments: list[Assignment], at: datetime) -> Assignment | None:
    """The dispatch current at ``at``: the last one made by then."""
    made = [a for a in assignments if a.dispatched_at <= at]
    return max(made, key=lambda a: (a.dispatched_at, a.id)) if made else None
