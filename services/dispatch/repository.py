"""Dispatch's repository: cases with their history, found by scope and filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from services.dispatch.models import Case, RepeatLink

FILTERABLE = ("status", "channel", "risk", "category", "assignee_code", "level", "received_by")


@dataclass(frozen=True)
class CaseFilters:
    equal: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_mapping(cls, filters: Mapping[str, Any]) -> CaseFilters:
        unknown = set(filters) - set(FILTERABLE)
        if unknown:
            raise ValueError(f"cannot filter by {sorted(unknown)}; only by {FILTERABLE}")
        return cls(tuple((k, str(v)) for k, v in filters.items() if v not in (None, "")))


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> None:
        """A new case, with its history: the flush at commit writes the new cases of a unit
        of work together, one statement a table."""
        self.session.add(case)

    def get(self, case_id: str) -> Case | None:
        return self.session.get(Case, case_id, options=[selectinload(Case.history)])

    def link_repeats(self, case_id: str, repeat_of: Sequence[str]) -> None:
        """``case_id`` repeats each of ``repeat_of``: each of those links to it."""
        for earlier in dict.fromkeys(repeat_of):
            self.session.add(RepeatLink(case_id=earlier, repeat_id=case_id))

    def repeats_of(self, case_id: str) -> list[str]:
        """The later matters repeating this case."""
        query = select(RepeatLink.repeat_id).where(RepeatLink.case_id == case_id)
        return sorted(self.session.scalars(query.order_by(RepeatLink.repeat_id)))

    def page(
        self, scope: Sequence[str] | None, filters: CaseFilters, page: int, page_size: int
    ) -> tuple[list[Case], int]:
        query: Select[Any] = select(Case)
        if scope is not None:
            # within reach of any of these units: holding it, helping, or where it lies
            query = query.where(or_(false(), *(Case.reach_codes.contains(f" {c} ") for c in scope)))
        for column, value in filters.equal:
            query = query.where(getattr(Case, column) == value)
        total = self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.session.scalars(
            query.options(selectinload(Case.history))
            .order_by(Case.received_at.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return list(rows), int(total or 0)
