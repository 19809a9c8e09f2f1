"""一单考评's desk row (直办) from counters: the desk's days filled from the marks kept so far

Revision ID: supervision_deskcount_desk_days
Revises: supervision_scale_marks_by_what

The desk's figures become rows of ``assessment_days`` (kind ``desk``, code ``centre``), with
what each case added kept in ``assignment_tallies`` under ``desk:<case>``: the same counting as
``counting.count_desk``, done once here for the cases concluded at the desk before it.
"""

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "supervision_deskcount_desk_days"
down_revision = "supervision_scale_marks_by_what"

BEIJING = ZoneInfo("Asia/Shanghai")
GOOD = ("satisfied", "basically_satisfied")
MARKS = sa.table(
    "marks", sa.column("case_id", sa.String), sa.column("what", sa.String),
    sa.column("at", UtcDateTime), sa.column("detail", sa.JSON),
)  # fmt: skip
DAYS = sa.table(
    "assessment_days", *(sa.column(name) for name in (
        "day", "assignee_kind", "assignee_code", "assignee_name", "concluded", "revisited",
        "satisfied")),
)  # fmt: skip
TALLIES = sa.table(
    "assignment_tallies", sa.column("assignment_id"), sa.column("day"), sa.column("assignee_kind"),
    sa.column("assignee_code"), sa.column("assignee_name"), sa.column("counts", sa.JSON),
)  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    first: dict[str, datetime] = {}
    at_desk = sa.select(MARKS.c.case_id, MARKS.c.at).where(
        MARKS.c.what == "concluded", MARKS.c.detail["at_desk"].as_boolean().is_(True)
    )
    for case_id, at in bind.execute(at_desk):
        first[case_id] = min(at, first.get(case_id, at))
    last = _last_answers(bind, sorted(first))
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    tallies: list[dict[str, Any]] = []
    for case_id, at in sorted(first.items()):
        day = at.astimezone(BEIJING).date().isoformat()
        answer = last.get(case_id)
        counts = {"concluded": 1, "revisited": int(answer is not None),
                  "satisfied": int(answer in GOOD)}  # fmt: skip
        figures = days[day]
        figures[0], figures[1] = figures[0] + 1, figures[1] + counts["revisited"]
        figures[2] += counts["satisfied"]
        tallies.append({"assignment_id": f"desk:{case_id}", "day": day, **CENTRE, "counts": counts})
    if days:
        bind.execute(sa.insert(DAYS), [
            {"day": day, **CENTRE, "concluded": c, "revisited": r, "satisfied": s}
            for day, (c, r, s) in sorted(days.items())
        ])  # fmt: skip
    for start in range(0, len(tallies), 5000):
        bind.execute(sa.insert(TALLIES), tallies[start : start + 5000])


CENTRE = {"assignee_kind": "desk", "assignee_code": "centre", "assignee_name": "中心直办"}


def _last_answers(bind: Any, case_ids: list[str]) -> dict[str, str]:
    """Each case's last revisit answer (given on a close or a reopening)."""
    answer = MARKS.c.detail["satisfaction"].as_string()
    last: dict[str, str] = {}
    for start in range(0, len(case_ids), 500):
        query = (
            sa.select(MARKS.c.case_id, answer)
            .where(MARKS.c.what.in_(("closed", "reopened")), answer.is_not(None))
            .where(MARKS.c.case_id.in_(case_ids[start : start + 500]))
            .order_by(MARKS.c.at)
        )
        last.update((case_id, given) for case_id, given in bind.execute(query))
    return last


def downgrade() -> None:
    op.execute(sa.delete(DAYS).where(DAYS.c.assignee_kind == "desk"))
    op.execute(sa.delete(TALLIES).where(TALLIES.c.assignment_id.like("desk:%")))
