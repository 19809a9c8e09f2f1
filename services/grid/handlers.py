"""What each grid command does, inside a unit of work.

An import merges the parts it brings over the stored territory, checks the whole and stores it
with the ``grid.unit_changed`` / ``grid.staff_changed`` events in one transaction: all of it,
or on the first problem nothing (every problem is reported, each naming its feature or row).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.events import (
    GRID_STAFF_CHANGED,
    GRID_UNIT_CHANGED,
    Envelope,
    StaffChanged,
    UnitChanged,
)
from services.grid.commands import ImportTerritory
from services.grid.domain import Changes, GridImportError, Problem, Territory, merge
from services.grid.rules import validate
from services.grid.unit_of_work import GridUnitOfWork


@dataclass(frozen=True)
class ImportReport:
    """What an import stored: the size of the territory, what changed, the warnings (allowed,
    but worth saying) and the revision the territory is at now."""

    counts: dict[str, int]
    changed_units: int
    changed_staff_units: int
    responsibilities_changed: bool
    warnings: list[Problem]
    revision: int


def import_territory(uow: GridUnitOfWork, command: ImportTerritory, now: datetime) -> ImportReport:
    parts = command.bundle.parts
    with uow:
        territory = merge(uow.territory.load(), command.bundle)
        problems, warnings = validate(territory, parts, command.tolerance_m)
        if problems:
            raise GridImportError(problems)
        changes = uow.territory.write(territory, parts)
        for event in change_events(territory, changes):
            uow.emit(event)
        revision = uow.territory.bump_revision(now) if changes.any else uow.territory.revision()
        uow.commit()
    return report(territory, changes, warnings, revision)


def change_events(territory: Territory, changes: Changes) -> list[Envelope[Any]]:
    """The events that tell the other services (and grid's other instances) what changed."""
    events: list[Envelope[Any]] = []
    if changes.units:
        events.append(
            GRID_UNIT_CHANGED.new(UnitChanged(codes=sorted(changes.units), change="imported"))
        )
    if changes.staff_units or changes.responsibilities:
        # Departments and their duties are "who is responsible" as much as people are; a
        # change to them is told as a staff change of the district.
        units = set(changes.staff_units)
        district = next((u.code for u in territory.units if u.level == "district"), "")
        if changes.responsibilities and district:
            units.add(district)
        events.append(GRID_STAFF_CHANGED.new(StaffChanged(units=sorted(units), change="imported")))
    return events


def report(
    territory: Territory, changes: Changes, warnings: list[Problem], revision: int
) -> ImportReport:
    return ImportReport(
        counts={
            "units": len(territory.units),
            "exclusive": sum(1 for u in territory.units if u.kind == "exclusive"),
            "people": len(territory.people),
            "departments": len(territory.departments),
            "duties": len(territory.duties),
            "categories": len(territory.categories),
        },
        changed_units=len(changes.units),
        changed_staff_units=len(changes.staff_units),
        responsibilities_changed=changes.responsibilities,
        warnings=warnings,
        revision=revision,
    )
