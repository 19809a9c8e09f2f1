"""Dispatch's repository: cases with their history, found by scope and filters, a page at a
time, newest first by (received_at, case_id).

A page begins after a cursor (keyset: every page costs what the first does) or, as in 1.0, at
a page number (OFFSET). Scope and ``unit`` read ``case_reach`` by its (unit, received_at,
case_id, held) index; ``q`` reads FTS5 on SQLite and a GIN-indexed tsvector column on
PostgreSQL. A page counts and sorts the matches' keys, then reads its own cases only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    select,
    table,
    tuple_,
)
from sqlalchemy.orm import Session, aliased, load_only, selectinload

from kit.db import UtcDateTime
from services.dispatch.models import Case, CaseReach, RepeatLink

FILTERABLE = ("status", "channel", "risk", "category", "assignee_code", "level",
              "received_by")  # fmt: skip
TOTAL_CAP = 10_000
"""Pages count their cases up to this many only: never the whole table."""
MARKER_COLUMNS = (Case.case_id, Case.risk, Case.status, Case.category, Case.due_at,
                  Case.received, Case.received_at)  # fmt: skip
"""What a map's marker needs of a case (its place is in what was received)."""
EXPORT_COLUMNS = (Case.case_id, Case.received_at, Case.channel, Case.category, Case.risk,
                  Case.status, Case.assignee, Case.level, Case.content, Case.deadlines,
                  Case.received)  # fmt: skip
"""What a row of the export needs of a case (its address and citizen are in what was
received)."""
FTS = table("cases_fts", column("case_id"), column("received_at"), column("terms"))
"""SQLite's FTS5 table of the search terms and each case's time (made by migration
dispatch_0004, the time added by dispatch_search_at_scale)."""
SEARCH_VECTOR: ColumnElement[Any] = literal_column("cases.search_vector")
"""PostgreSQL's tsvector of the search terms, a column generated from them (migration
dispatch_search_at_scale) and unmapped: SQLite has none."""
NEWEST_READ = 20_000
"""How many of the newest cases a page of common words is first looked for among."""


@dataclass(frozen=True)
class CaseFilters:
    """What a list is narrowed to, ready for the database: ``equal`` columns, search
    ``terms`` (all must match), received in [``received_from``, ``received_before``), past a
    limit at ``overdue_at``, held within ``unit``'s subtree, among ``case_ids``."""

    equal: tuple[tuple[str, str], ...] = ()
    terms: tuple[str, ...] = ()
    received_from: datetime | None = None
    received_before: datetime | None = None
    overdue_at: datetime | None = None
    unit: str | None = None
    case_ids: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PageWanted:
    """``page_size`` cases after the cursor ``after`` (the last row's received_at and id)
    or, without one, page number ``page``."""

    page_size: int
    page: int = 1
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True)
class Found:
    cases: list[Case]
    more: bool
    """Whether another page follows."""
    total: int
    capped: bool
    """More than ``TOTAL_CAP`` match: ``total`` says only that many."""


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

    def page(self, scope: Sequence[str] | None, filters: CaseFilters, wanted: PageWanted) -> Found:
        """The page's keys are counted and sorted first, only then are its cases read: a
        match costs its key, not its whole row."""
        query, order = self._keys(scope, filters)
        one = query.with_only_columns(literal(1), maintain_column_froms=True)
        counted = one.limit(TOTAL_CAP + 1).subquery()
        total = int(self.session.scalar(select(func.count()).select_from(counted)) or 0)
        if wanted.after is not None:
            query = _after(query, order, wanted.after)
        else:
            query = query.offset((wanted.page - 1) * wanted.page_size)
        keys = query.order_by(*(part.desc() for part in order)).limit(wanted.page_size + 1)
        ids = None
        if total > TOTAL_CAP and scope is None and wanted.page == 1:
            ids = self._common_words_page(filters, wanted.after, wanted.page_size + 1)
        rows = list(
            self.session.scalars(
                select(Case)
                .where(Case.case_id.in_(keys.scalar_subquery() if ids is None else ids))
                .options(selectinload(Case.history))
                .order_by(Case.received_at.desc(), Case.case_id.desc())
            )
        )
        more = len(rows) > wanted.page_size
        return Found(rows[: wanted.page_size], more, min(total, TOTAL_CAP), total > TOTAL_CAP)

    def export_rows(
        self,
        scope: Sequence[str] | None,
        filters: CaseFilters,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Row[Any]]:
        """At most ``limit`` matching cases after the cursor ``after``, newest first, as rows
        of ``EXPORT_COLUMNS`` only: no count, no history, no objects (an export reads every
        match, a page after another)."""
        query, order = self._matching(scope, filters)
        if after is not None:
            query = _after(query, order, after)
        columns = query.with_only_columns(*EXPORT_COLUMNS)
        ordered = columns.order_by(*(part.desc() for part in order)).limit(limit)
        return list(self.session.execute(ordered))

    def open_cases(
        self, scope: Sequence[str] | None, unit: str | None, statuses: Sequence[str], limit: int
    ) -> list[Case]:
        """At most ``limit`` cases in one of ``statuses``, newest first, in scope and, with a
        ``unit``, within its reach (held there or lying in it); without their history."""
        query, order = self._matching(scope, CaseFilters())
        if unit is not None:
            query, by_unit = _through_reach(query, unit, held=False)
            order = by_unit if scope is None else order
        query = query.where(Case.status.in_(statuses)).options(load_only(*MARKER_COLUMNS))
        return list(self.session.scalars(query.order_by(*(p.desc() for p in order)).limit(limit)))

    def _common_words_page(
        self, filters: CaseFilters, after: tuple[datetime, str] | None, size: int
    ) -> list[str] | None:
        """On PostgreSQL, the keys of a page of words that more than ``TOTAL_CAP`` cases hold,
        looked for among the newest ``NEWEST_READ`` cases (after the cursor) in the list's
        order; None when those do not hold a whole page, or the list asks for more than words.

        The planner guesses how many cases hold several words by multiplying each word's
        share, while a county's words go together (电梯 and 故障): expecting a few hundred, it
        reads and sorts every one of tens of thousands of matches. Counted first, common words
        are found by reading the newest cases until a page holds them."""
        words_alone = filters.terms and filters == CaseFilters(terms=filters.terms)
        if not words_alone or self.session.get_bind().dialect.name != "postgresql":
            return None
        order = (Case.received_at, Case.case_id)
        newest = select(*order, SEARCH_VECTOR.label("words"))
        if after is not None:
            newest = _after(newest, order, after)
        read = newest.order_by(*(part.desc() for part in order)).limit(NEWEST_READ).subquery()
        holding = (
            select(read.c.case_id)
            .where(read.c.words.op("@@")(_tsquery(filters.terms)))
            .order_by(read.c.received_at.desc(), read.c.case_id.desc())
            .limit(size)
        )
        ids = list(self.session.scalars(holding))
        return ids if len(ids) == size else None

    def _keys(
        self, scope: Sequence[str] | None, filters: CaseFilters
    ) -> tuple[Select[Any], tuple[Any, Any]]:
        """The keys of the matching cases and the columns they are ordered by. Words alone,
        on SQLite, are answered by the FTS5 table, a ``unit`` or one unit's scope alone by
        its reach rows: both hold each case's time, so no case is read for a match."""
        words_alone = filters.terms and filters == CaseFilters(terms=filters.terms)
        if words_alone and scope is None and self.session.get_bind().dialect.name == "sqlite":
            found = select(FTS.c.case_id).select_from(FTS).where(_fts_match(filters.terms))
            return found, (FTS.c.received_at, FTS.c.case_id)
        if filters == CaseFilters(unit=filters.unit):
            if scope is None and filters.unit is not None:
                return _reach_keys(filters.unit, held=True)
            if scope is not None and len(scope) == 1 and filters.unit is None:
                return _reach_keys(scope[0], held=False)
        query, order = self._matching(scope, filters)
        return query.with_only_columns(Case.case_id), order

    def _matching(
        self, scope: Sequence[str] | None, filters: CaseFilters
    ) -> tuple[Select[Any], tuple[Any, Any]]:
        """The cases in scope that pass the filters, and the columns they are ordered by:
        a reach row's when the list is read through one (its index has the order)."""
        query: Select[Any] = select(Case)
        order: tuple[Any, Any] = (Case.received_at, Case.case_id)
        postgresql = self.session.get_bind().dialect.name == "postgresql"
        if scope is not None and filters.terms and postgresql:
            # the words and the scope in one GIN index (migration dispatch_reach_unit_codes)
            query = query.where(Case.reach_unit_codes.overlap(list(scope)) if scope else false())
        elif scope is not None and len(scope) == 1:
            query, order = _through_reach(query, scope[0], held=False)
        elif scope is not None:
            within = select(CaseReach.case_id).where(
                CaseReach.case_id == Case.case_id, CaseReach.unit_code.in_(scope)
            )
            query = query.where(exists(within) if scope else false())
        if filters.unit is not None:
            query, by_unit = _through_reach(query, filters.unit, held=True)
            order = by_unit if scope is None else order
        return query.where(*self._conditions(filters)), order

    def _conditions(self, filters: CaseFilters) -> list[ColumnElement[bool]]:
        conditions = [getattr(Case, name) == value for name, value in filters.equal]
        if filters.received_from is not None:
            conditions.append(Case.received_at >= filters.received_from)
        if filters.received_before is not None:
            conditions.append(Case.received_at < filters.received_before)
        if filters.overdue_at is not None:
            conditions.append(Case.due_at < filters.overdue_at)
        if filters.case_ids is not None:
            conditions.append(Case.case_id.in_(filters.case_ids) if filters.case_ids else false())
        if filters.terms:
            conditions.append(self._words(filters.terms))
        return conditions

    def _words(self, terms: Sequence[str]) -> ColumnElement[bool]:
        """Every term among the case's search terms, through the dialect's full-text index."""
        if self.session.get_bind().dialect.name == "postgresql":
            return SEARCH_VECTOR.op("@@")(_tsquery(terms))
        return Case.case_id.in_(select(FTS.c.case_id).where(_fts_match(terms)))


def _tsquery(terms: Sequence[str]) -> ColumnElement[Any]:
    """PostgreSQL's query of every term, as the ``simple`` configuration made the vector."""
    simple: ColumnElement[Any] = literal_column("'simple'::regconfig")
    return func.plainto_tsquery(simple, " ".join(terms))


def _fts_match(terms: Sequence[str]) -> ColumnElement[bool]:
    """Every term among a row's terms in SQLite's FTS5 table, each a phrase of its own."""
    match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return literal_column("cases_fts").op("MATCH")(match)


def _after(query: Select[Any], order: tuple[Any, Any], after: tuple[datetime, str]) -> Select[Any]:
    """The rows sorted after the cursor's (received_at, case_id), newest first (keyset)."""
    at, case_id = after
    return query.where(tuple_(*order) < tuple_(literal(at, UtcDateTime()), case_id))


def _reach_keys(unit: str, *, held: bool) -> tuple[Select[Any], tuple[Any, Any]]:
    """The keys of the cases within reach of ``unit`` (``held``: held in its subtree) read
    from its reach rows alone, which hold each case's time."""
    rows = select(CaseReach.case_id).where(CaseReach.unit_code == unit)
    if held:
        rows = rows.where(CaseReach.held.is_(True))
    return rows, (CaseReach.received_at, CaseReach.case_id)


def _through_reach(
    query: Select[Any], unit: str, *, held: bool
) -> tuple[Select[Any], tuple[Any, Any]]:
    """The cases within reach of ``unit`` (``held``: held in its subtree), joined through
    its reach rows, which are ordered as the list is."""
    reach = aliased(CaseReach)
    on = [reach.case_id == Case.case_id, reach.unit_code == unit]
    if held:
        on.append(reach.held.is_(True))
    return query.join(reach, and_(*on)), (reach.received_at, reach.case_id)
