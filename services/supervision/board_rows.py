"""The overdue board's rows, counted and paged by the database.

A case is counted once, at its earliest late clock in the user's scope: a clock is in scope
when a unit of the scope holds it or the case lies within one (its territory names one). The
cards are counted by unit and risk (``late_counts``) and the page's cases read by their
limits after the cursor, ``size`` + 1 of them (``late_page``): the late clocks are read
through their own partial index and never all into Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Session

from kit.db import UtcDateTime
from services.supervision.board import RISKS, BoardPage, LateCase, LateCount
from services.supervision.models import Assignment, ClockRow, FollowedCase

RUNNING: BindParameter[list[str]] = bindparam(
    "running", ["open", "paused"], expanding=True, literal_execute=True
)
"""Written into the statement, not bound: the planner proves the late clocks' partial index
(whose condition names these states) answers the query only from the values themselves."""

Scope = Sequence[str] | None


def late_counts(session: Session, scope: Scope) -> list[LateCount]:
    """The cards' counts: the late cases of each unit and risk, with the assignment of each
    unit's earliest late case (which names its card)."""
    return [
        LateCount(code, risk, late, bool(first), name, kind)
        for code, risk, late, first, name, kind in session.execute(counts_query(session, scope))
    ]


def counts_query(session: Session, scope: Scope) -> Select[Any]:
    counted = _counted(session, scope)
    in_unit = func.row_number().over(
        partition_by=counted.c.assignee_code, order_by=(counted.c.due_at, counted.c.id)
    )
    rows = (
        select(
            counted.c.assignee_code,
            _risk().label("risk"),
            counted.c.owner,
            in_unit.label("in_unit"),
        )
        .select_from(counted)
        .outerjoin(FollowedCase, FollowedCase.case_id == counted.c.case_id)
        .subquery()
    )
    first = rows.c.in_unit == 1
    cards = (
        select(
            rows.c.assignee_code,
            rows.c.risk,
            func.count().label("late"),
            func.max(case((first, 1), else_=0)).label("first"),
            func.max(case((first, rows.c.owner))).label("owner"),
        )
        .group_by(rows.c.assignee_code, rows.c.risk)
        .subquery()
    )
    return (
        select(
            cards.c.assignee_code,
            cards.c.risk,
            cards.c.late,
            cards.c.first,
            Assignment.assignee_name,
            Assignment.assignee_kind,
        )
        .select_from(cards)
        .outerjoin(Assignment, Assignment.id == cards.c.owner)
    )


def late_page(session: Session, scope: Scope, page: BoardPage) -> list[LateCase]:
    """The page's cases, earliest limit first, after the cursor: ``page.size`` of them, and
    one more when there is a page after."""
    return [LateCase(*row) for row in session.execute(page_query(session, scope, page))]


def page_query(session: Session, scope: Scope, page: BoardPage) -> Select[Any]:
    counted = _counted(session, scope)
    order = (counted.c.due_at, counted.c.id)
    listed = select(counted)
    if page.after is not None:
        due_at, clock_id = page.after
        after = tuple_(literal(due_at, UtcDateTime()), literal(clock_id))
        listed = listed.where(tuple_(*order) > after)
    shown = listed.order_by(*order).limit(page.size + 1).subquery()
    return (
        select(
            shown.c.id,
            shown.c.case_id,
            shown.c.kind,
            shown.c.state,
            shown.c.due_at,
            shown.c.assignee_code,
            _risk(),
        )
        .select_from(shown)
        .outerjoin(FollowedCase, FollowedCase.case_id == shown.c.case_id)
        .order_by(shown.c.due_at, shown.c.id)
    )


def _counted(session: Session, scope: Scope) -> Subquery:
    """The late clocks the board counts its cases at: each case's earliest in scope. Ranked
    within the case rather than asked of each clock whether an earlier one exists: the
    planner, which cannot know how few clocks are late, would compare every late clock with
    every other."""
    in_case = func.row_number().over(
        partition_by=ClockRow.case_id, order_by=(ClockRow.due_at, ClockRow.id)
    )
    late = select(ClockRow.id, ClockRow.case_id, ClockRow.kind, ClockRow.state,
                  ClockRow.due_at, ClockRow.assignee_code, ClockRow.owner,
                  in_case.label("in_case")).where(_late(ClockRow))  # fmt: skip
    if scope is not None:
        late = late.outerjoin(FollowedCase, FollowedCase.case_id == ClockRow.case_id).where(
            or_(ClockRow.assignee_code.in_(list(scope)), _within(session, scope))
        )
    ranked = late.subquery()
    return select(ranked).where(ranked.c.in_case == 1).subquery()


def _late(clock: Any) -> ColumnElement[bool]:
    return and_(clock.state.in_(RUNNING), clock.overdue.is_(True))


def _within(session: Session, scope: Sequence[str]) -> ColumnElement[bool]:
    """The case's territory names a unit of the scope (any of its levels)."""
    each = (
        func.json_each_text if session.get_bind().dialect.name == "postgresql" else func.json_each
    )
    values = each(FollowedCase.territory).table_valued("value")
    return exists(select(1).select_from(values).where(values.c.value.in_(list(scope))))


def _risk() -> ColumnElement[str]:
    return case((FollowedCase.risk.in_(RISKS), FollowedCase.risk), else_="blue")
