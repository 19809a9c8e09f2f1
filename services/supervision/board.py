"""超时看板: the late cases by the unit holding them, as the console and the big screen show.

The board is paged: every card counts all its late cases, but only ``PAGE_SIZE`` cases (in
the order of their limits, earliest first) are listed in one answer, with the cursor of the
next page; the late clocks are read as a stream, so neither the answer nor the memory grows
with the number of late cases.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from contracts.listing import BadCursor, decode_cursor, encode_cursor
from services.supervision.models import Assignment, ClockRow, FollowedCase

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
Late = tuple[ClockRow, FollowedCase | None, Assignment | None]

RISKS = ("red", "yellow", "blue")


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

    def count(self, risk: str) -> None:
        self.late += 1
        setattr(self, risk, getattr(self, risk) + 1)

    def show(self, clock: ClockRow, risk: str) -> None:
        self.cases.append({
            "case_id": clock.case_id, "risk": risk, "clock": clock.kind,
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


def overdue_board(
    late: Iterable[Late], scope: Sequence[str] | None, page: BoardPage | None = None
) -> dict[str, Any]:
    """One card per holding unit, each late case on it once (its earliest limit missed),
    the units with most red first; ``late`` comes earliest limit first. Every card counts all
    its cases; the cases listed are one page's, and ``next`` the cursor of the page after."""
    page = page or BoardPage()
    units: dict[str, BoardUnit] = {}
    seen: set[str] = set()
    shown, more, last = 0, False, None
    for clock, case, held in late:
        territory = set((case.territory if case else {}).values())
        outside = scope is not None and clock.assignee_code not in scope
        if (outside and not territory & set(scope or ())) or clock.case_id in seen:
            continue
        seen.add(clock.case_id)
        risk = case.risk if case and case.risk in RISKS else "blue"
        unit = units.get(clock.assignee_code) or units.setdefault(
            clock.assignee_code, card_of(clock, held)
        )
        unit.count(risk)
        if page.after is not None and (clock.due_at, clock.id) <= page.after:
            continue
        if shown < page.size:
            unit.show(clock, risk)
            shown, last = shown + 1, clock
        else:
            more = True
    ordered = sorted(units.values(), key=lambda u: (-u.red, -u.late, u.code))
    totals = {key: sum(getattr(u, key) for u in ordered) for key in ("late", *RISKS)}
    cursor = encode_cursor(last.due_at, str(last.id)) if more and last else None
    return {"units": [asdict(u) for u in ordered], "totals": totals, "next": cursor}


def card_of(clock: ClockRow, held: Assignment | None) -> BoardUnit:
    name, kind = (held.assignee_name, held.assignee_kind) if held else (clock.assignee_code, "unit")
    return BoardUnit(clock.assignee_code, name, kind)
