"""Dispatch's reads: a case, and pages of cases, as committed."""

from __future__ import annotations

from collections.abc import Sequence

from contracts.rpc import CasePage, CaseView
from services.dispatch.repository import CaseFilters
from services.dispatch.unit_of_work import DispatchUnitOfWork

MAX_PAGE = 1_000_000
"""Deeper than any real list; a larger page number would overflow the database's integer."""
MAX_PAGE_SIZE = 200


def get_case(uow: DispatchUnitOfWork, case_id: str) -> CaseView | None:
    with uow.read() as cases:
        case = cases.get(case_id)
        return case.view(cases.repeats_of(case_id)) if case else None


def list_cases(
    uow: DispatchUnitOfWork,
    scope: Sequence[str] | None,
    filters: CaseFilters,
    page: int = 1,
    page_size: int = 50,
) -> CasePage:
    """Cases newest first; ``scope`` (unit codes) limits them to the cases those units hold,
    help with, or that lie within them. A page out of range is brought into it."""
    page, page_size = min(max(page, 1), MAX_PAGE), min(max(page_size, 1), MAX_PAGE_SIZE)
    with uow.read() as cases:
        found, total = cases.page(scope, filters, page, page_size)
        items = [case.view() for case in found]
    return CasePage(items=items, total=total, page=page, page_size=page_size)
