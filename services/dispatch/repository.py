"""Dispatch's repository: cases with their history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from services.dispatch.models import Case


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> None:
        self.session.add(case)

    def get(self, case_id: str) -> Case | None:
        return self.session.get(Case, case_id, options=[selectinload(Case.history)])

    def exists(self, case_id: str) -> bool:
        return self.session.get(Case, case_id) is not None

    def page(self, status: str | None, page: int, page_size: int) -> tuple[list[Case], int]:
        query = select(Case)
        counter = select(func.count()).select_from(Case)
        if status:
            query = query.where(Case.status == status)
            counter = counter.where(Case.status == status)
        rows = self.session.scalars(
            query.options(selectinload(Case.history))
            .order_by(Case.received_at.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return list(rows), int(self.session.scalar(counter) or 0)
