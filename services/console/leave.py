"""请假 (AB岗): supervisors and administrators record a role holder's leave, or withdraw it; the
console keeps it and tells notify (``staff.leave_recorded`` / ``staff.leave_cancelled``), which
sends that holder's alerts to their deputy while it lasts."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, Final

from contracts.events import (
    STAFF_LEAVE_CANCELLED,
    STAFF_LEAVE_RECORDED,
    LeaveCancelled,
    LeaveRecorded,
)
from kernel.calendar import SHANGHAI
from services.console import domain
from services.console.leave_store import SqlLeaveUnitOfWork, StaffLeave
from services.console.refusals import BadFields, NotFound, NotPermitted

MAY_RECORD: Final = frozenset({"supervisor", "admin"})
HOLDER: Final = re.compile(r"(department|grid|person):[A-Za-z0-9_.\-]{1,64}")
LONGEST: Final = timedelta(days=366)
"""A leave of more than a year is a typo (or a post to fill, not a leave)."""


def must_record(principal: domain.Principal) -> None:
    if principal.role not in MAY_RECORD:
        raise NotPermitted("supervisors and administrators only")


def moment(value: object, *, end: bool) -> datetime:
    """``2027-01-04`` (Beijing; an end date counts whole, to the next midnight) or an ISO
    date and time (Beijing unless it gives its offset)."""
    if not isinstance(value, str):
        raise ValueError("must be a date like 2027-01-04 or a date and time")
    if len(value) == 10:
        day = date.fromisoformat(value) + (timedelta(days=1) if end else timedelta(0))
        return datetime.combine(day, time(), tzinfo=SHANGHAI)
    found = datetime.fromisoformat(value)
    return found if found.tzinfo is not None else found.replace(tzinfo=SHANGHAI)


def read_leave(body: Any) -> tuple[str, datetime, datetime, str]:
    """(holder, starts, ends, reason) of the form, every field checked, each fault named."""
    if not isinstance(body, dict):
        raise BadFields([("body", "must be a JSON object")])
    problems: list[tuple[str, str]] = []
    person = body.get("person")
    if not isinstance(person, str) or not HOLDER.fullmatch(person):
        problems.append(("person", "must name a role like department:D-HBJ or person:P-01"))
    bounds: dict[str, datetime] = {}
    for field, end in (("from", False), ("to", True)):
        try:
            bounds[field] = moment(body.get(field), end=end)
        except (ValueError, OverflowError) as bad:
            problems.append((field, str(bad) if "must" in str(bad) else "not a valid date"))
    if len(bounds) == 2 and bounds["to"] <= bounds["from"]:
        problems.append(("to", "must be after from"))
    elif len(bounds) == 2 and bounds["to"] - bounds["from"] > LONGEST:
        problems.append(("to", "a leave lasts a year at most"))
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 200:
        problems.append(("reason", "must be text of 200 characters at most"))
    if problems:
        raise BadFields(problems)
    return str(person), bounds["from"], bounds["to"], str(reason)


def record(
    uow: SqlLeaveUnitOfWork, principal: domain.Principal, body: Any, now: datetime
) -> dict[str, Any]:
    must_record(principal)
    person, starts, ends, reason = read_leave(body)
    leave = StaffLeave(
        leave_id=f"L-{uuid.uuid4().hex[:12]}", person=person, starts=starts, ends=ends,
        reason=reason, recorded_by=principal.user, recorded_at=now,
    )  # fmt: skip
    with uow:
        uow.leaves.add(leave)
        told = LeaveRecorded(
            leave_id=leave.leave_id, person=person, starts=starts, ends=ends, by=principal.user
        )
        uow.emit(STAFF_LEAVE_RECORDED.new(told, occurred_at=now))
        uow.commit()
    return view(leave)


def cancel(
    uow: SqlLeaveUnitOfWork, principal: domain.Principal, leave_id: str, now: datetime
) -> None:
    must_record(principal)
    with uow:
        leave = uow.leaves.get(leave_id)
        if leave is None:
            raise NotFound(f"no leave {leave_id}")
        uow.leaves.remove(leave)
        told = LeaveCancelled(leave_id=leave_id, person=leave.person, by=principal.user)
        uow.emit(STAFF_LEAVE_CANCELLED.new(told, occurred_at=now))
        uow.commit()


def current(uow: SqlLeaveUnitOfWork, principal: domain.Principal, now: datetime) -> list[Any]:
    must_record(principal)
    with uow:
        return [view(leave) for leave in uow.leaves.current(now)]


def view(leave: StaffLeave) -> dict[str, Any]:
    return {
        "leave_id": leave.leave_id, "person": leave.person, "from": leave.starts.isoformat(),
        "to": leave.ends.isoformat(), "reason": leave.reason, "by": leave.recorded_by,
    }  # fmt: skip
