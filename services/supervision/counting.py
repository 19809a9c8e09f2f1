"""一单考评's counters kept in the transaction that changes what they count.

A session watched by ``keep_counters`` notes every assignment whose row, clocks or orders it
writes; at commit, before the rows go in, each noted assignment's figures are worked out again
from its rows (``tallies.tally_of``) and only the difference from what it added before
(``assignment_tallies``) is added to its unit's day (``assessment_days``) and month
(``assessment_months``), every day's row in one upsert and every month's in another. Whichever
handler changed the rows (a case's step, the scanner's overdue alert, a 督办 order) and however
often a fact is handled, the counters follow the rows: a burst is counted together, and a fact
that changes nothing adds nothing.

直办 is kept the same way, per case instead of per assignment: a case whose conclusion or
revisit answer the session wrote is worked out again from its marks (``tallies.desk_tally``)
and its difference added to the desk's rows of the day and month (kind ``desk``, code
``centre``); what it added is kept under ``desk:<case>`` among the assignments' snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import ExitStack
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import Table, case, event, select
from sqlalchemy.orm import Session

from kit.db import dialect_insert
from services.supervision.domain import CLOCK_KINDS
from services.supervision.models import (
    AssessmentDay,
    AssessmentMonth,
    Assignment,
    AssignmentTally,
    ClockRow,
    Mark,
    Order,
)
from services.supervision.reports import record_of
from services.supervision.repository import DESK_FACTS, MARKED
from services.supervision.tallied import TALLIED
from services.supervision.tallies import Tally, TallyKey, changes, desk_tally, key_of, tally_of

Row = TypeVar("Row", Assignment, ClockRow, Order)


def keep_counters(session: Session, during: ExitStack) -> None:
    """Keep the counters of what ``session`` writes, until ``during`` closes."""
    touched: set[str] = set()
    marked: set[str] = session.info.setdefault(MARKED, set())

    def note(flushed: Session, _context: Any) -> None:
        written = list(flushed.new) + list(flushed.dirty)
        touched.update(assignments_written(written))
        marked.update(
            m.case_id for m in flushed.new if isinstance(m, Mark) and m.what in DESK_FACTS
        )

    def count(committing: Session) -> None:
        committing.flush()  # the last changes, noted by ``note``
        if touched:
            count_assignments(committing, sorted(touched))
            touched.clear()
        if marked:
            count_desk(committing, sorted(marked))
            marked.clear()

    event.listen(session, "after_flush", note)
    event.listen(session, "before_commit", count)
    during.callback(event.remove, session, "before_commit", count)
    during.callback(event.remove, session, "after_flush", note)


def assignments_written(rows: Iterable[object]) -> set[str]:
    """The assignments whose figures the written rows may change."""
    ids: set[str] = set()
    for row in rows:
        if isinstance(row, Assignment):
            ids.add(row.id)
        elif isinstance(row, ClockRow) and row.kind in CLOCK_KINDS:
            ids.add(row.owner)
        elif isinstance(row, Order) and row.assignment_id is not None:
            ids.add(row.assignment_id)
    return ids


def count_assignments(session: Session, ids: list[str]) -> None:
    """Bring the counters of the assignments ``ids`` up to their rows."""
    # what they added before, locked first (PostgreSQL): then the rows read below hold what
    # another transaction counting the same assignment committed before us
    before = counted_before(session, ids)
    assignments = {row.id: row for row in _fresh(session, Assignment, Assignment.id, ids)}
    clocks: dict[str, list[ClockRow]] = {i: [] for i in assignments}
    for clock in _fresh(session, ClockRow, ClockRow.owner, list(assignments)):
        if clock.kind in CLOCK_KINDS:
            clocks[clock.owner].append(clock)
    grades: dict[str, list[str]] = {i: [] for i in assignments}
    for order in _fresh(session, Order, Order.assignment_id, list(assignments)):
        grades[order.assignment_id or ""].append(order.grade)
    added: dict[TallyKey, Tally] = {}
    snapshots = []
    for assignment_id, assignment in sorted(assignments.items()):
        record = record_of(assignment, clocks[assignment_id], grades[assignment_id])
        now = key_of(record), tally_of(record)
        moves = changes(before.get(assignment_id), now)
        if moves:
            snapshots.append(snapshot(assignment_id, *now))
        gather(added, moves)
    add_to_days(session, added)
    if snapshots:
        session.execute(_keep_snapshot(_dialect(session)), snapshots)


DESK_SNAPSHOT = "desk:"
"""The prefix of a case's 直办 snapshot among the assignments' (no assignment id has it)."""


def count_desk(session: Session, case_ids: list[str]) -> None:
    """Bring 直办's counters of the cases ``case_ids`` up to their marks (a case's facts are
    counted one transaction after another: the handler locks the case's row first)."""
    before = counted_before(session, [DESK_SNAPSHOT + case_id for case_id in case_ids])
    at_desk: dict[str, list[datetime]] = {case_id: [] for case_id in case_ids}
    answers: dict[str, list[tuple[datetime, str]]] = {case_id: [] for case_id in case_ids}
    for start in range(0, len(case_ids), 500):
        query = select(Mark.case_id, Mark.what, Mark.at, Mark.detail).where(
            Mark.what.in_(DESK_FACTS), Mark.case_id.in_(case_ids[start : start + 500])
        )
        for case_id, what, at, detail in session.execute(query):
            if what == "concluded" and (detail or {}).get("at_desk"):
                at_desk[case_id].append(at)
            elif what != "concluded" and (detail or {}).get("satisfaction") is not None:
                answers[case_id].append((at, detail["satisfaction"]))
    added: dict[TallyKey, Tally] = {}
    snapshots = []
    for case_id in case_ids:
        now = desk_tally(at_desk[case_id], answers[case_id])
        if now is None:  # never concluded at the desk (marks are never taken back)
            continue
        moves = changes(before.get(DESK_SNAPSHOT + case_id), now)
        if moves:
            snapshots.append(snapshot(DESK_SNAPSHOT + case_id, *now))
        gather(added, moves)
    add_to_days(session, added)
    if snapshots:
        session.execute(_keep_snapshot(_dialect(session)), snapshots)


def gather(added: dict[TallyKey, Tally], moves: Mapping[TallyKey, Tally]) -> None:
    """Add ``moves`` into ``added``, key by key."""
    for key, diff in moves.items():
        total = added.setdefault(key, dict.fromkeys(TALLIED, 0))
        for metric, by in diff.items():
            total[metric] += by


def _fresh(session: Session, entity: type[Row], column: Any, ids: list[str]) -> list[Row]:
    """The rows whose ``column`` is one of ``ids``, read again from the database (everything
    of this session is flushed by then)."""
    found: list[Row] = []
    for start in range(0, len(ids), 500):
        query = select(entity).where(column.in_(ids[start : start + 500]))
        found += session.scalars(query.execution_options(populate_existing=True))
    return found


def counted_before(session: Session, ids: list[str]) -> dict[str, tuple[TallyKey, Tally]]:
    found: dict[str, tuple[TallyKey, Tally]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = (
            select(AssignmentTally)
            .where(AssignmentTally.assignment_id.in_(chunk))
            .order_by(AssignmentTally.assignment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        for row in session.scalars(query):
            key = TallyKey(row.day, row.assignee_kind, row.assignee_code, row.assignee_name)
            found[row.assignment_id] = key, dict(row.counts)
    return found


def snapshot(assignment_id: str, key: TallyKey, tally: Tally) -> dict[str, Any]:
    return {"assignment_id": assignment_id, "day": key.day, "assignee_kind": key.assignee_kind,
            "assignee_code": key.assignee_code, "assignee_name": key.assignee_name,
            "counts": tally}  # fmt: skip


def add_to_days(session: Session, added: Mapping[TallyKey, Tally]) -> None:
    """Add each day's figures to its row, and to its month's: upserts, so that two instances
    counting the same unit's day add up instead of overwriting each other."""
    rows = [
        {"day": key.day, "assignee_kind": key.assignee_kind, "assignee_code": key.assignee_code,
         "assignee_name": key.assignee_name, **diff}
        # one lock order for every writer: the days, then the months
        for key, diff in sorted(added.items(), key=lambda item: _order(item[0]))
        if any(diff.values())
    ]  # fmt: skip
    if rows:
        session.execute(_add_to_day(_dialect(session)), rows)
        session.execute(_add_to_month(_dialect(session)), months_of(rows))


def months_of(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The days' figures (in day order) summed by unit and month, each named as its unit's
    latest day among them."""
    months: dict[tuple[str, str, str], dict[str, Any]] = {}
    for day in days:
        key = day["day"][:7], day["assignee_kind"], day["assignee_code"]
        unit = {"month": key[0], "assignee_kind": key[1], "assignee_code": key[2]}
        month = months.setdefault(key, unit | dict.fromkeys(TALLIED, 0))
        month["assignee_name"], month["last_day"] = day["assignee_name"], day["day"]
        for metric in TALLIED:
            month[metric] += day[metric]
    return [months[key] for key in sorted(months)]


def _order(key: TallyKey) -> tuple[str, str, str]:
    return key.day, key.assignee_kind, key.assignee_code


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@cache
def _add_to_day(dialect: str) -> Any:
    table = cast(Table, AssessmentDay.__table__)
    upsert = dialect_insert(dialect, table)
    added = {metric: table.c[metric] + upsert.excluded[metric] for metric in TALLIED}
    return upsert.on_conflict_do_update(
        index_elements=[table.c.day, table.c.assignee_kind, table.c.assignee_code],
        set_={**added, "assignee_name": upsert.excluded["assignee_name"]},
    )


@cache
def _add_to_month(dialect: str) -> Any:
    table = cast(Table, AssessmentMonth.__table__)
    upsert = dialect_insert(dialect, table)
    added = {metric: table.c[metric] + upsert.excluded[metric] for metric in TALLIED}
    # a day counted late (an old dispatch's overdue alert) leaves the name of the latest day
    later = upsert.excluded["last_day"] >= table.c.last_day
    named = {name: case((later, upsert.excluded[name]), else_=table.c[name])
             for name in ("assignee_name", "last_day")}  # fmt: skip
    return upsert.on_conflict_do_update(
        index_elements=[table.c.month, table.c.assignee_kind, table.c.assignee_code],
        set_={**added, **named},
    )


@cache
def _keep_snapshot(dialect: str) -> Any:
    table = cast(Table, AssignmentTally.__table__)
    upsert = dialect_insert(dialect, table)
    kept = ("day", "assignee_kind", "assignee_code", "assignee_name", "counts")
    return upsert.on_conflict_do_update(
        index_elements=[table.c.assignment_id], set_={name: upsert.excluded[name] for name in kept}
    )
