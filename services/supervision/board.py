"""超时看板: the late cases by the unit holding them, as the console and the big screen show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from services.supervision.models import Assignment, ClockRow, FollowedCase

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

    def add(self, clock: ClockRow, risk: str) -> None:
        self.late += 1
        setattr(self, risk, getattr(self, risk) + 1)
        self.cases.append({
            "case_id": clock.case_id, "risk": risk, "clock": clock.kind,
            "due_at": clock.due_at.isoformat(), "status": clock.state,
        })  # fmt: skip


def overdue_board(
    late: Sequence[tuple[ClockRow, FollowedCase | None, Assignment | None]],
    scope: Sequence[str] | None,
) -> dict[str, Any]:
    """One card per holding unit, each late case on it once (its earliest limit missed),
    the units with most red first."""
    units: dict[str, BoardUnit] = {}
    seen: set[str] = set()
    for clock, case, held in late:
        territory = set((case.territory if case else {}).values())
        outside = scope is not None and clock.assignee_code not in scope
        if (outside and not territory & set(scope or ())) or clock.case_id in seen:
            continue
        seen.add(clock.case_id)
        risk = case.risk if case and case.risk in RISKS else "blue"
        if clock.assignee_code not in units:
            name, kind = (
                (held.assignee_name, held.assignee_kind) if held else (clock.assignee_code, "unit")
            )
            units[clock.assignee_code] = BoardUnit(clock.assignee_code, name, kind)
        units[clock.assignee_code].add(clock, risk)
    ordered = sorted(units.values(), key=lambda u: (-u.red, -u.late, u.code))
    totals = {key: sum(getattr(u, key) for u in ordered) for key in ("late", *RISKS)}
    return {"units": [asdict(u) for u in ordered], "totals": totals}
