"""Grid's unit of work in memory: the territory in dicts, events kept in a list, so the
handlers are tested with no broker and no database.

It keeps the promises of ``SqlGridUnitOfWork`` the handlers rely on: a write says what it
changed and leaves unchanged parts alone, events and writes count only once committed, and
leaving without a commit puts everything back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from contracts.events import Envelope
from services.grid.domain import (
    Category,
    Changes,
    Department,
    Duty,
    Person,
    Territory,
    Unit,
)


@dataclass
class FakeTerritoryRepository:
    units: dict[str, Unit] = field(default_factory=dict)
    people: dict[tuple[str, str, str], Person] = field(default_factory=dict)
    """By (unit, role, person_id)."""
    departments: dict[str, Department] = field(default_factory=dict)
    duties: dict[tuple[str, str, str], Duty] = field(default_factory=dict)
    """By (department, category, level)."""
    categories: dict[str, Category] = field(default_factory=dict)
    stored_revision: int = 0

    @classmethod
    def holding(cls, territory: Territory) -> FakeTerritoryRepository:
        repository = cls()
        repository.store(territory, ("units", "people", "departments", "duties", "categories"))
        return repository

    def copy(self) -> FakeTerritoryRepository:
        return replace(
            self,
            units=dict(self.units),
            people=dict(self.people),
            departments=dict(self.departments),
            duties=dict(self.duties),
            categories=dict(self.categories),
        )

    def load(self) -> Territory:
        return Territory(
            units=tuple(self.units[code] for code in sorted(self.units)),
            people=tuple(self.people[key] for key in sorted(self.people)),
            departments=tuple(self.departments[code] for code in sorted(self.departments)),
            duties=tuple(self.duties[key] for key in sorted(self.duties)),
            categories=tuple(self.categories[code] for code in sorted(self.categories)),
        )

    def write(self, territory: Territory, parts: Iterable[str]) -> Changes:
        wanted = set(parts)
        before = self.load()
        changes = Changes()
        if "units" in wanted:
            old, new = _by_code(before.units), _by_code(territory.units)
            changes.units = {
                code for code in old.keys() | new.keys() if old.get(code) != new.get(code)
            }
        if "people" in wanted:
            old_staff, new_staff = _staff(before.people), _staff(territory.people)
            changes.staff_units = {
                unit
                for unit in old_staff.keys() | new_staff.keys()
                if old_staff.get(unit) != new_staff.get(unit)
            }
        if wanted & {"departments", "duties", "categories"}:
            changes.responsibilities = _responsibilities(before) != _responsibilities(territory)
        self.store(territory, wanted)
        return changes

    def store(self, territory: Territory, parts: Iterable[str]) -> None:
        wanted = set(parts)
        if "units" in wanted:
            self.units = _by_code(territory.units)
        if "people" in wanted:
            self.people = {(p.unit, p.role, p.person_id): p for p in territory.people}
        if "departments" in wanted:
            self.departments = {d.code: d for d in territory.departments}
        if wanted & {"departments", "duties"}:
            self.duties = {(d.department, d.category, d.level): d for d in territory.duties}
        if "categories" in wanted:
            self.categories = {c.code: c for c in territory.categories}

    def revision(self) -> int:
        return self.stored_revision

    def bump_revision(self, now: datetime) -> int:
        self.stored_revision += 1
        return self.stored_revision


def _by_code(units: Iterable[Unit]) -> dict[str, Unit]:
    return {unit.code: unit for unit in units}


def _staff(people: Iterable[Person]) -> Mapping[str, set[Person]]:
    grouped: dict[str, set[Person]] = defaultdict(set)
    for person in people:
        grouped[person.unit].add(person)
    return grouped


def _responsibilities(territory: Territory) -> tuple[set[Any], ...]:
    return set(territory.departments), set(territory.duties), set(territory.categories)


class FakeGridUnitOfWork:
    """``territory`` is what the handlers see inside the unit of work; ``committed`` holds what
    is stored, and ``events`` what the committed units of work emitted."""

    def __init__(self, territory: Territory | None = None) -> None:
        self.committed = FakeTerritoryRepository.holding(territory or Territory())
        self.territory = self.committed.copy()
        self.events: list[Envelope[Any]] = []
        self.commits = 0
        self._emitted: list[Envelope[Any]] = []

    def __enter__(self) -> Self:
        self.territory = self.committed.copy()
        self._emitted = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # What was not committed is gone, as a rolled-back transaction's rows are.
        self.territory = self.committed.copy()
        self._emitted = []

    def emit(self, envelope: Envelope[Any]) -> None:
        self._emitted.append(envelope)

    def commit(self) -> None:
        self.committed = self.territory.copy()
        self.events += self._emitted
        self._emitted = []
        self.commits += 1
