"""Dispatch's repository: cases with their history, found by scope and filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from services.dispatch.models import Case

FILTERABLE = ("status", "channel", "risk", "category", "assignee_code", "level")


@dataclass(frozen=True)
class CaseFilters:
    equal: tuple[tuple[str, str], ...] = ()
    case_ids: tuple[str, ...] | None = None
    """Only these cases (None: any); phone search resolves a number to them."""

    @classmethod
    def from_mapping(cls, filters: Mapping[str, Any]) -> CaseFilters:
        unknown = set(filters) - {*FILTERABLE, "case_ids"}
        if unknown:
            raise ValueError(f"cannot filter by {sorted(unknown)}; only by {FILTERABLE}")
        equal = tuple(
            (k, str(v)) for k, v in filters.items() if k != "case_ids" and v not in (None, "")
        )
        case_ids = filters.get("case_ids")
        if case_ids is not None and not (
            isinstance(case_ids, list) and all(isinstance(c, str) for c in case_ids)
        ):
            raise ValueError("case_ids: a list of case ids")
        return cls(equal, None if case_ids is None else tuple(case_ids))


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, case: Case) -> None:
        """A new case, with its history: the flush at commit writes the new cases of a unit
        of work together, one statement a table."""
        self.session.add(case)

    def get(self, case_id: str) -> Case | None:
        return self.session.get(Case, case_id, options=[selectinload(Case.history)])

    def page(
        self, scope: Sequence[str] | None, filters: CaseFilters, page: int, page_size: int
    ) -> tuple[list[Case], int]:
        query: Select[Any] = select(Case)
        if scope is not None:
            # within reach of any of these units: holding it, helping, or where it lies
            query = query.where(or_(false(), *(Case.reach_codes.contains(f" {c} ") for c in scope)))
        for column, value in filters.equal:
            query = query.where(getattr(Case, column) == value)
        if filters.case_ids is not None:
            query = query.where(Case.case_id.in_(filters.case_ids))
        total = self.session.scalar(select(func.count()).select_from(query.subquery()))
        rows = self.session.scalars(
            query.options(selectinload(Case.history))
            .order_by(Case.received_at.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return list(rows), int(total or 0)
