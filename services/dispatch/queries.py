"""Dispatch's reads: a case, pages of cases, pages of an export's rows, and the open cases a
map shows, as committed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row

from contracts.desk import shown_citizen
from contracts.event_data import Assignee, Deadlines, Reporter
from contracts.listing import CaseListFilters, decode_cursor, encode_cursor
from contracts.mapping import MAX_OPEN_CASES, OPEN_STATUSES, OpenCase, OpenCases
from contracts.rpc import CasePage, CaseView, ExportedCase, ExportPage
from services.dispatch import search
from services.dispatch.models import Case
from services.dispatch.repository import FILTERABLE, CaseFilters, PageWanted
from services.dispatch.unit_of_work import DispatchUnitOfWork

MAX_PAGE = 1_000_000
"""Deeper than any real list; a larger page number would overflow the database's integer."""
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class ListCases:
    """A page of the case list: ``scope`` (unit codes; None: all) limits it to the cases those
    units hold, help with, or that lie within them; ``after`` is the cursor of the page
    before, else ``page`` counts pages as 1.0 did."""

    scope: Sequence[str] | None
    filters: CaseListFilters
    page: int = 1
    page_size: int = 50
    after: str | None = None


def get_case(uow: DispatchUnitOfWork, case_id: str) -> CaseView | None:
    with uow.read() as cases:
        case = cases.get(case_id)
        return case.view(cases.repeats_of(case_id)) if case else None


def filters_of(wanted: CaseListFilters, now: datetime) -> CaseFilters:
    """The filters as the repository takes them: ``q`` cut into words, dates into instants,
    ``overdue`` into the time a limit must have passed (dispatch's clock's now)."""
    start, end = wanted.received_between()
    asked = wanted.model_dump(include=set(FILTERABLE), exclude_none=True)
    return CaseFilters(
        equal=tuple((name, str(value)) for name, value in sorted(asked.items())),
        terms=tuple(search.query_terms(wanted.q)) if wanted.q else (),
        received_from=start,
        received_before=end,
        overdue_at=now if wanted.overdue else None,
        unit=wanted.unit,
        case_ids=tuple(wanted.case_ids) if wanted.case_ids is not None else None,
    )


def list_cases(uow: DispatchUnitOfWork, asked: ListCases, now: datetime) -> CasePage:
    """Cases newest first, a page of them, and the cursor of the next. A page out of range is
    brought into it; a cursor that is not one is a ``BadCursor`` (a ``ValueError``)."""
    page = min(max(asked.page, 1), MAX_PAGE)
    page_size = min(max(asked.page_size, 1), MAX_PAGE_SIZE)
    after = decode_cursor(asked.after) if asked.after else None
    wanted = PageWanted(page_size, 1 if after else page, after)
    with uow.read() as cases:
        found = cases.page(asked.scope, filters_of(asked.filters, now), wanted)
        items = [case.view() for case in found.cases]
    last = found.cases[-1] if found.cases else None
    cursor = encode_cursor(last.received_at, last.case_id) if last and found.more else None
    return CasePage(
        items=items, total=found.total, page=wanted.page, page_size=page_size, next=cursor,
        total_capped=found.capped,
    )  # fmt: skip


MAX_EXPORT_PAGE = 1000
"""An export's largest page: 1,000 rows of a dozen columns, well within an RPC's time."""


@dataclass(frozen=True)
class ExportCases:
    """A page of the cases an export holds: the list's ``scope`` and ``filters``, after the
    cursor ``after`` (None: from the newest), ``page_size`` of them."""

    scope: Sequence[str] | None
    filters: CaseListFilters
    after: str | None = None
    page_size: int = MAX_EXPORT_PAGE


def export_cases(uow: DispatchUnitOfWork, asked: ExportCases, now: datetime) -> ExportPage:
    """The cases of the filtered list, newest first, as rows of the export (导出): the list's
    filters and cursor, but no count and only the columns a row shows, a page of up to
    ``MAX_EXPORT_PAGE``; a cursor that is not one is a ``BadCursor``."""
    page_size = min(max(asked.page_size, 1), MAX_EXPORT_PAGE)
    after = decode_cursor(asked.after) if asked.after else None
    with uow.read() as cases:
        rows = cases.export_rows(asked.scope, filters_of(asked.filters, now), after, page_size + 1)
    last = rows[page_size - 1] if len(rows) > page_size else None
    cursor = encode_cursor(last.received_at, last.case_id) if last is not None else None
    return ExportPage(items=[exported_case(row) for row in rows[:page_size]], next=cursor)


def exported_case(row: Row[Any]) -> ExportedCase:
    """A row of ``EXPORT_COLUMNS`` as the export's case: the address and the citizen from
    what was received, the citizen as a case's page shows them."""
    received = row.received or {}
    reporter = Reporter.model_validate(received.get("reporter") or {})
    return ExportedCase(
        case_id=row.case_id, received_at=row.received_at, channel=row.channel,
        category=row.category, risk=row.risk, status=row.status,
        assignee=Assignee.model_validate(row.assignee) if row.assignee else None,
        level=row.level, content=row.content, address=received.get("address"),
        citizen=shown_citizen(reporter),
        deadlines=Deadlines.model_validate(row.deadlines) if row.deadlines else None,
    )  # fmt: skip


@dataclass(frozen=True)
class OpenCasesWanted:
    """The open cases in ``scope`` (None: all), within ``unit``'s reach when given;
    ``located``: only those with a place on the map; ``limit``: at most this many."""

    scope: Sequence[str] | None
    unit: str | None = None
    located: bool = False
    limit: int = MAX_OPEN_CASES


def open_cases(uow: DispatchUnitOfWork, asked: OpenCasesWanted, now: datetime) -> OpenCases:
    """The open cases asked for, newest first, each as its marker shows it: the map of a
    county in one answer, bounded, instead of paging through whole cases."""
    limit = min(max(asked.limit, 1), MAX_OPEN_CASES)
    with uow.read() as cases:
        found = cases.open_cases(asked.scope, asked.unit, OPEN_STATUSES, limit + 1)
        items = [open_case(case, now) for case in found[:limit]]
    if asked.located:
        items = [item for item in items if item.lat is not None]
    return OpenCases(items=items, capped=len(found) > limit)


def open_case(case: Case, now: datetime) -> OpenCase:
    place = case.received.get("location")
    lat, lon = (place.get("lat"), place.get("lon")) if isinstance(place, dict) else (None, None)
    located = isinstance(lat, int | float) and isinstance(lon, int | float)
    return OpenCase(
        case_id=case.case_id, lat=lat if located else None, lon=lon if located else None,
        risk=case.risk, status=case.status, category=case.category,
        overdue=case.due_at is not None and case.due_at < now, received_at=case.received_at,
    )  # fmt: skip
