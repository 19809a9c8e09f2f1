"""请假 as the console keeps it (``staff_leave``): the leaves recorded and not withdrawn, and the
unit of work that stores one and emits its event together."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import datetime

from sqlalchemy import String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kit.db import UtcDateTime
from kit.unit_of_work import ServiceUnitOfWork
from services.console.models import Base


class StaffLeave(Base):
    """A role's holder away (``person``: ``department:D-HBJ``, ``person:P-01``) from ``starts``
    until ``ends`` (excluded); their alerts go to their deputy (B岗) meanwhile."""

    __tablename__ = "staff_leave"

    leave_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(80), index=True)
    starts: Mapped[datetime] = mapped_column(UtcDateTime)
    ends: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LeaveRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, leave: StaffLeave) -> None:
        self.session.add(leave)

    def get(self, leave_id: str) -> StaffLeave | None:
        return self.session.get(StaffLeave, leave_id)

    def remove(self, leave: StaffLeave) -> None:
        self.session.delete(leave)

    def current(self, now: datetime) -> list[StaffLeave]:
        """Leaves not over by ``now``, the soonest first."""
        query = select(StaffLeave).where(StaffLeave.ends > now)
        return list(self.session.scalars(query.order_by(StaffLeave.starts, StaffLeave.leave_id)))


class SqlLeaveUnitOfWork(ServiceUnitOfWork):
    """The console database's unit of work with the leave repository on it."""

    leaves: LeaveRepository

    def on_session(self, session: Session, during: ExitStack) -> None:
        self.leaves = LeaveRepository(session)
