"""超时看板: the late cases by the unit holding them, as the console and the big screen show.

The board is paged: every card counts all its late cases, but only ``PAGE_SIZE`` cases (in
the order of their limits, earliest first) are listed in one answer, with the cursor of the
next page. The database counts the cards (``LateCount``, one row per unit and risk) and reads
one page of cases (``LateCase``), so neither the answer nor the work grows with the number of
late cases; ``overdue_board`` gives the same answer from the late clocks themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from contracts.listing import BadCursor, decode_cursor, encode_cursor
from services.supervision.models import Assignment, ClockRow, FollowedCase

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
Late = tuple[ClockRow, FollowedCase | None, Assignment | None]

RISKS = ("red", "yellow", "blue")


class LateCount(NamedTuple):
    """A unit's late cases of one risk; ``first`` when the earliest of the unit's cases is
    among them, whose assignment (``name``, ``kind``; None when it has none) names the card."""

    code: str
    risk: str
    late: int
    first: bool
    name: str | None
    kind: str | None


class LateCase(NamedTuple):
    """A late case listed on the board: the clock it is counted at, and its risk."""

    id: int
    case_id: str
    kind: str
    state: str
    due_at: datetime
    assignee_code: str
    risk: str


@dataclass
class BoardUnit:
    code: str
    name: str
    kind: str
    late: int = 0
    red: int = 0
    yellow: int = 0
    blue: int = 0
    cases: list[dict[str, str]] = field(default_factory=list)

    def count(self, risk: str, late: int = 1) -> None:
        self.late += late
        setattr(self, risk, getattr(self, risk) + late)

    def show(self, clock: LateCase) -> None:
        self.cases.append({
            "case_id": clock.case_id, "risk": clock.risk, "clock": clock.kind,
            "due_at": clock.due_at.isoformat(), "status": clock.state,
        })  # fmt: skip


@dataclass(frozen=True)
class BoardPage:
    """The page of late cases wanted: those after ``after`` ((due_at, clock id) of the last
    case the page before listed), ``size`` of them."""

    after: tuple[datetime, int] | None = None
    size: int = PAGE_SIZE


def board_page(after: str | None, size: int) -> BoardPage:
    """The page asked for; a cursor that is not one is a ``BadCursor`` (a ``ValueError``)."""
    size = min(max(size, 1), MAX_PAGE_SIZE)
    if not after:
        return BoardPage(None, size)
    due_at, clock_id = decode_cursor(after)
    if not clock_id.isdigit():
        raise BadCursor("not a cursor of this board")
    return BoardPage((due_at, int(clock_id)), size)


def board_of(counts: Iterable[LateCount], listed: Sequence[LateCase], size: int) -> dict[str, Any]:
    """The board from its cards' counts and the cases of the page, earliest limit first
    (``size`` of them, one more when there is a page after): the units with most red first."""
    units: dict[str, BoardUnit] = {}
    for row in counts:
        unit = units.setdefault(row.code, BoardUnit(row.code, row.code, "unit"))
        if row.first and row.kind is not None and row.name is not None:
            unit.name, unit.kind = row.name, row.kind
        unit.count(row.risk, row.late)
    for clock in listed[:size]:
        # a case late since the cards were counted still shows, on its own unit's card
        code = clock.assignee_code
        units.setdefault(code, BoardUnit(code, code, "unit")).show(clock)
    ordered = sorted(units.values(), key=lambda u: (-u.red, -u.late, u.code))
    totals = {key: sum(getattr(u, key) for u in ordered) for key in ("late", *RISKS)}
    last = listed[size - 1] if len(listed) > size else None
    cursor = encode_cursor(last.due_at, str(last.id)) if last else None
    return {"units": [asdict(u) for u in ordered], "totals": totals, "next": cursor}


def overdue_board(
    late: Iterable[Late], scope: Sequence[str] | None, page: BoardPage | None = None
) -> dict[str, Any]:
    """The board from the late clocks, earliest limit first: each case counted once, at its
    earliest limit missed among those in ``scope`` (held by a unit of it, or lying within
    it). What ``board_rows`` asks the database, for the rows in hand."""
    page = page or BoardPage()
    counts: dict[tuple[str, str], LateCount] = {}
    named: set[str] = set()
    listed: list[LateCase] = []
    for clock, case, held in counted(late, scope):
        risk = case.risk if case and case.risk in RISKS else "blue"
        key = (clock.assignee_code, risk)
        first = clock.assignee_code not in named
        named.add(clock.assignee_code)
        was = counts.get(key) or LateCount(*key, 0, False, None, None)
        if first:
            name, kind = (held.assignee_name, held.assignee_kind) if held else (None, None)
            was = was._replace(first=True, name=name, kind=kind)
        counts[key] = was._replace(late=was.late + 1)
        after = page.after is None or (clock.due_at, clock.id) > page.after
        if after and len(listed) <= page.size:
            listed.append(LateCase(clock.id, clock.case_id, clock.kind, clock.state,
                                   clock.due_at, clock.assignee_code, risk))  # fmt: skip
    return board_of(counts.values(), listed, page.size)


def counted(late: Iterable[Late], scope: Sequence[str] | None) -> Iterable[Late]:
    """The clocks the board counts its cases at: in scope, each case's earliest."""
    seen: set[str] = set()
    for clock, case, held in late:
        territory = set((case.territory if case else {}).values())
        outside = scope is not None and clock.assignee_code not in scope
        if (outside and not territory & set(scope or ())) or clock.case_id in seen:
            continue
        seen.add(clock.case_id)
        yield clock, case, held
