"""待回访: concluded cases that no SMS can revisit, and on-site resolutions drawn for a spot
check (抽查回访, ``spot_check``), waiting for an operator's call, each on a ``revisit`` clock
that warns and falls overdue as any other limit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.supervision.models import ClockRow, FollowedCase
from services.supervision.on_site import SPOT_CHECK
from services.supervision.repository import RUNNING

MAX_PAGE_SIZE = 200


def revisit_queue(session: Session, page: int = 1, page_size: int = 50) -> dict[str, Any]:
    """The cases waiting for a revisit by phone, the nearest limit first, a page of them."""
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)
    waiting = (ClockRow.kind == "revisit", ClockRow.state.in_(RUNNING))
    total = session.scalar(select(func.count()).select_from(ClockRow).where(*waiting)) or 0
    rows = session.execute(
        select(ClockRow, FollowedCase)
        .outerjoin(FollowedCase, FollowedCase.case_id == ClockRow.case_id)
        .where(*waiting)
        .order_by(ClockRow.due_at, ClockRow.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    items = [entry_of(clock, case) for clock, case in rows]
    return {"items": items, "total": int(total), "page": page, "page_size": page_size}


def entry_of(clock: ClockRow, case: FollowedCase | None) -> dict[str, Any]:
    return {
        "case_id": clock.case_id, "concluded_at": clock.started_at.isoformat(),
        "warn_at": clock.warn_at.isoformat(), "due_at": clock.due_at.isoformat(),
        "warned": clock.warned, "overdue": clock.overdue,
        "calendar_uncertain": clock.calendar_uncertain,
        "channel": case.channel if case else None, "risk": case.risk if case else None,
        "spot_check": clock.owner.startswith(SPOT_CHECK),
    }  # fmt: skip
