"""Dispatch's unit of work and grid in memory: cases in a dict, events and handled ids kept in
lists, grid's answers given by the test, so the handlers are tested with no broker, no
database and no grid service.

The unit of work keeps the promises of ``SqlDispatchUnitOfWork`` the handlers rely on: what
is changed and emitted counts only once committed, leaving without a commit puts everything
back, an event or command id is handled once, reads see what is committed, and each commit
that changes a case moves its version on (the database's version counter).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from sqlalchemy import inspect

from contracts.events import Envelope
from contracts.rpc import DepartmentDuty, Location, StaffMember
from kit.db import FirstTimes
from kit.rpc import RpcTimeout
from services.dispatch.models import Case, CaseReach, HistoryEntry
from services.dispatch.repository import TOTAL_CAP, CaseFilters, Found, PageWanted


def copy_case(case: Case) -> Case:
    """A case of its own, with its history, as a fresh read from the database would give."""
    columns = {a.key: copy.deepcopy(getattr(case, a.key)) for a in inspect(Case).column_attrs}
    history = [
        HistoryEntry(**{a.key: getattr(step, a.key) for a in inspect(HistoryEntry).column_attrs})
        for step in case.history
    ]
    reach = [
        CaseReach(**{a.key: getattr(row, a.key) for a in inspect(CaseReach).column_attrs})
        for row in case.reach
    ]
    return Case(**columns, history=history, reach=reach)


def row_of(case: Case) -> tuple[dict[str, Any], int]:
    """What a commit compares: the columns but the version, and the number of steps."""
    columns = {a.key: getattr(case, a.key) for a in inspect(Case).column_attrs}
    del columns["version"]
    return columns, len(case.history)


class FakeCases:
    """``Cases`` and ``CaseReads`` over a dict."""

    def __init__(self, cases: dict[str, Case], links: set[tuple[str, str]] | None = None) -> None:
        self.by_id = cases
        self.links = set(links or ())
        """(case, a later case repeating it)."""

    def get(self, case_id: str) -> Case | None:
        return self.by_id.get(case_id)

    def add(self, case: Case) -> None:
        self.by_id[case.case_id] = case

    def link_repeats(self, case_id: str, repeat_of: Sequence[str]) -> None:
        self.links |= {(earlier, case_id) for earlier in repeat_of}

    def repeats_of(self, case_id: str) -> list[str]:
        return sorted(later for earlier, later in self.links if earlier == case_id)

    def page(self, scope: Sequence[str] | None, filters: CaseFilters, wanted: PageWanted) -> Found:
        """As the repository reads them: the same filters, over the cases in the dict."""
        found = [case for case in self.by_id.values() if in_scope(case, scope)
                 and passes(case, filters)]  # fmt: skip
        found.sort(key=lambda case: (case.received_at, case.case_id), reverse=True)
        if wanted.after is not None:
            found_after = [c for c in found if (c.received_at, c.case_id) < wanted.after]
            rows = found_after[: wanted.page_size + 1]
        else:
            start = (wanted.page - 1) * wanted.page_size
            rows = found[start : start + wanted.page_size + 1]
        more = len(rows) > wanted.page_size
        return Found(rows[: wanted.page_size], more, min(len(found), TOTAL_CAP),
                     len(found) > TOTAL_CAP)  # fmt: skip

    def open_cases(
        self, scope: Sequence[str] | None, unit: str | None, statuses: Sequence[str], limit: int
    ) -> list[Case]:
        found = [
            case
            for case in self.by_id.values()
            if in_scope(case, scope)
            and (unit is None or in_scope(case, [unit]))
            and case.status in statuses
        ]
        found.sort(key=lambda case: (case.received_at, case.case_id), reverse=True)
        return found[:limit]


def in_scope(case: Case, scope: Sequence[str] | None) -> bool:
    return scope is None or bool({row.unit_code for row in case.reach} & set(scope))


def passes(case: Case, filters: CaseFilters) -> bool:
    """The repository's conditions, in Python: terms among the case's search terms, dates,
    the next limit past, held within the unit, among the ids."""
    held = {row.unit_code for row in case.reach if row.held}
    return (
        all(str(getattr(case, column)) == value for column, value in filters.equal)
        and set(filters.terms) <= set(case.search_terms.split())
        and (filters.received_from is None or case.received_at >= filters.received_from)
        and (filters.received_before is None or case.received_at < filters.received_before)
        and (filters.overdue_at is None
             or (case.due_at is not None and case.due_at < filters.overdue_at))
        and (filters.unit is None or filters.unit in held)
        and (filters.case_ids is None or case.case_id in filters.case_ids)
    )  # fmt: skip


class FakeDispatchUnitOfWork:
    """``cases`` is what the handlers see inside the unit of work; ``committed`` holds what is
    stored, ``events`` what the committed units of work emitted and ``handled`` the event and
    command ids they consumed."""

    def __init__(self, *cases: Case) -> None:
        self.committed: dict[str, Case] = {case.case_id: copy_case(case) for case in cases}
        self.repeat_links: set[tuple[str, str]] = set()
        self.cases = FakeCases({})
        self.events: list[Envelope[Any]] = []
        self.handled: set[str] = set()
        self.commits = 0
        self._emitted: list[Envelope[Any]] = []
        self._handling: set[str] = set()

    def __enter__(self) -> Self:
        self.cases = FakeCases(
            {key: copy_case(case) for key, case in self.committed.items()}, self.repeat_links
        )
        self._emitted, self._handling = [], set()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # What was not committed is gone, as a rolled-back transaction's rows are.
        self.cases = FakeCases({})
        self._emitted, self._handling = [], set()

    @contextmanager
    def read(self) -> Iterator[FakeCases]:
        yield FakeCases(
            {key: copy_case(case) for key, case in self.committed.items()}, self.repeat_links
        )

    def first_time(self, event_id: str) -> bool:
        if event_id in self.handled or event_id in self._handling:
            return False
        self._handling.add(event_id)
        return True

    def first_times(self, event_ids: Iterable[str]) -> FirstTimes:
        return FirstTimes(event_id for event_id in set(event_ids) if self.first_time(event_id))

    def emit(self, envelope: Envelope[Any]) -> None:
        self._emitted.append(envelope)

    def commit(self) -> None:
        for case_id, case in self.cases.by_id.items():
            stored = self.committed.get(case_id)
            if stored is None:
                case.version = 1
            elif row_of(case) != row_of(stored):
                case.version = stored.version + 1
        self.committed = {key: copy_case(case) for key, case in self.cases.by_id.items()}
        self.repeat_links = set(self.cases.links)
        self.events += self._emitted
        self.handled |= self._handling
        self._emitted, self._handling = [], set()
        self.commits += 1

    def stored(self, case_id: str) -> Case:
        return self.committed[case_id]


def place_key(place: dict[str, Any]) -> str:
    """How ``FakeGrid.places`` knows a place asked: its grid code, address or point."""
    if "grid_code" in place:
        return str(place["grid_code"])
    if "address" in place:
        return str(place["address"])
    return f"{place['lat']},{place['lon']}"


NOT_LOCATED = Location(located=False, reason="no_match")


@dataclass
class FakeGrid:
    """Grid's answers, set by the test; ``silent`` makes every call time out. ``asked`` lists
    the calls, by method name and arguments."""

    places: dict[str, Location] = field(default_factory=dict)
    duties: dict[tuple[str, str, str | None], list[DepartmentDuty]] = field(default_factory=dict)
    """By (category, level, unit)."""
    people: dict[tuple[str, str], list[StaffMember]] = field(default_factory=dict)
    """By (unit, role)."""
    silent: bool = False
    asked: list[tuple[str, Any]] = field(default_factory=list)

    def locate_all(self, places: list[dict[str, Any]]) -> list[Location]:
        self._ask("locate_all", places)
        return [self.places.get(place_key(place), NOT_LOCATED) for place in places]

    def departments_for(self, category: str, level: str, unit: str | None) -> list[DepartmentDuty]:
        self._ask("departments_for", (category, level, unit))
        return self.duties.get((category, level, unit), [])

    def staff(self, unit: str, role: str) -> list[StaffMember]:
        self._ask("staff", (unit, role))
        return self.people.get((unit, role), [])

    def _ask(self, method: str, question: Any) -> None:
        self.asked.append((method, question))
        if self.silent:
            raise RpcTimeout(f"grid.{method} gave no answer in 2.0s")
