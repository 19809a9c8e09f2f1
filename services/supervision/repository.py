"""Supervision's repository."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.supervision.models import Clock


class ClockRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, clock: Clock) -> None:
        self.session.add(clock)

    def for_case(self, case_id: str) -> list[Clock]:
        return list(self.session.scalars(select(Clock).where(Clock.case_id == case_id)))
