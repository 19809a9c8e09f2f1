"""Import and export of a territory: files to the grid database and back (``civicflow grid
import PATH`` / ``civicflow grid export``), and the demo county.

An import reads whatever parts the path holds (a directory of files named by part, or one such
file), merges them over the stored territory, validates the whole and writes it in one
transaction together with the ``grid.unit_changed`` / ``grid.staff_changed`` events: all of it,
or on the first problem nothing (every problem is reported, each naming its feature or row).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from contracts.events import GRID_STAFF_CHANGED, GRID_UNIT_CHANGED, StaffChanged, UnitChanged
from kit.db import Store
from kit.pii import PhoneVault
from kit.settings import Settings
from services.grid import formats
from services.grid.demo import demo_territory
from services.grid.domain import (
    DEPARTMENT_LEVELS,
    Category,
    Department,
    Duty,
    GridImportError,
    Person,
    Problem,
    Territory,
    Unit,
    check_references,
    staffing_warnings,
)
from services.grid.geo import DEFAULT_TOLERANCE_M, check_containment
from services.grid.repository import GridRepository

FILE_NAMES: dict[str, tuple[str, ...]] = {
    "units": ("units.geojson", "units.json"),
    "people": ("people.csv", "people.yml", "people.yaml"),
    "departments": ("departments.yml", "departments.yaml", "departments.csv"),
    "duties": ("duties.csv", "duties.yml", "duties.yaml"),
    "categories": ("categories.yml", "categories.yaml", "categories.csv"),
}


@dataclass
class Bundle:
    """The parts an import brings; None for a part it leaves as stored."""

    units: list[Unit] | None = None
    people: list[Person] | None = None
    departments: list[Department] | None = None
    inline_duties: list[Duty] = field(default_factory=list)
    duties: list[Duty] | None = None
    categories: list[Category] | None = None

    @property
    def parts(self) -> list[str]:
        present = {
            "units": self.units is not None,
            "people": self.people is not None,
            "departments": self.departments is not None,
            "duties": self.duties is not None or self.departments is not None,
            "categories": self.categories is not None,
        }
        return [part for part, here in present.items() if here]


@dataclass(frozen=True)
class ImportReport:
    counts: dict[str, int]
    changed_units: int
    changed_staff_units: int
    responsibilities_changed: bool
    warnings: list[Problem]
    revision: int


def part_of(path: Path) -> str | None:
    for part, names in FILE_NAMES.items():
        if path.name in names:
            return part
    return None


def read_bundle(path: Path) -> Bundle:
    """The parts in ``path`` (a directory, or one file named like ``units.geojson``)."""
    if path.is_dir():
        files: dict[str, Path] = {}
        problems = []
        for part, names in FILE_NAMES.items():
            found = [path / name for name in names if (path / name).is_file()]
            if len(found) > 1:
                problems.append(
                    Problem(str(path), f"{' and '.join(f.name for f in found)}: keep one")
                )
            elif found:
                files[part] = found[0]
        if problems:
            raise GridImportError(problems)
        if not files:
            raise GridImportError(
                [Problem(str(path), f"no territory files here; expected any of {_all_names()}")]
            )
    elif path.is_file():
        single = part_of(path)
        if single is None:
            raise GridImportError(
                [Problem(str(path), f"unknown file name; expected one of {_all_names()}")]
            )
        files = {single: path}
    else:
        raise GridImportError([Problem(str(path), "no such file or directory")])
    texts = {part: file.read_text(encoding="utf-8-sig") for part, file in files.items()}
    return parse_bundle(texts, {part: file.name for part, file in files.items()})


def _all_names() -> str:
    return ", ".join(name for names in FILE_NAMES.values() for name in names)


def parse_bundle(texts: dict[str, str], names: dict[str, str] | None = None) -> Bundle:
    """Parse the texts of the parts given (``{"units": geojson, "people": csv, …}``)."""
    names = names or {part: FILE_NAMES[part][0] for part in texts}
    bundle = Bundle()
    problems: list[Problem] = []
    if "units" in texts:
        bundle.units, wrong = formats.parse_units(texts["units"], names["units"])
        problems += wrong
    if "people" in texts:
        bundle.people, wrong = formats.parse_people(texts["people"], names["people"])
        problems += wrong
    if "departments" in texts:
        departments, inline, wrong = formats.parse_departments(
            texts["departments"], names["departments"]
        )
        bundle.departments, bundle.inline_duties = departments, inline
        problems += wrong
    if "duties" in texts:
        known = {d.code: d for d in bundle.departments or []}
        bundle.duties, wrong = formats.parse_duties(texts["duties"], known, names["duties"])
        problems += wrong
    if "categories" in texts:
        bundle.categories, wrong = formats.parse_categories(
            texts["categories"], names["categories"]
        )
        problems += wrong
    if problems:
        raise GridImportError(problems)
    return bundle


def merge(current: Territory, bundle: Bundle) -> Territory:
    """The stored territory with the bundle's parts in place of its own."""
    departments = (
        tuple(bundle.departments) if bundle.departments is not None else current.departments
    )
    if bundle.departments is None and bundle.duties is None:
        duties = current.duties
    else:
        known = {d.code: d for d in departments}
        # A duty line that names no level takes its department's.
        duties = tuple(
            duty
            if duty.level in DEPARTMENT_LEVELS or duty.department not in known
            else replace(duty, level=known[duty.department].level)
            for duty in [*bundle.inline_duties, *(bundle.duties or [])]
        )
    return Territory(
        units=tuple(bundle.units) if bundle.units is not None else current.units,
        people=tuple(bundle.people) if bundle.people is not None else current.people,
        departments=departments,
        duties=duties,
        categories=(
            tuple(bundle.categories) if bundle.categories is not None else current.categories
        ),
    )


def validate(
    territory: Territory, parts: Sequence[str], tolerance_m: float = DEFAULT_TOLERANCE_M
) -> tuple[list[Problem], list[Problem]]:
    """Problems (refuse) and warnings (report) of the territory about to be stored."""
    problems = check_references(territory)
    if "units" in parts:
        problems += check_containment(territory.units, tolerance_m)
    warnings = (
        staffing_warnings(territory.people, territory.units)
        if {"units", "people"} & set(parts)
        else []
    )
    return problems, warnings


def import_bundle(
    store: Store, bundle: Bundle, vault: PhoneVault, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> ImportReport:
    """Validate and store the bundle, with its change events, in one transaction."""
    parts = bundle.parts
    with store.unit_of_work() as uow:
        repository = GridRepository(uow.session)
        territory = merge(repository.load(), bundle)
        problems, warnings = validate(territory, parts, tolerance_m)
        if problems:
            raise GridImportError(problems)
        changes = repository.write(territory, parts, vault)
        district = next((u.code for u in territory.units if u.level == "district"), "")
        if changes.units:
            uow.emit(
                GRID_UNIT_CHANGED.new(UnitChanged(codes=sorted(changes.units), change="imported"))
            )
        if changes.staff_units or changes.responsibilities:
            # Departments and their duties are "who is responsible" as much as people are; a
            # change to them is told as a staff change of the district.
            units = set(changes.staff_units)
            if changes.responsibilities and district:
                units.add(district)
            uow.emit(GRID_STAFF_CHANGED.new(StaffChanged(units=sorted(units), change="imported")))
        revision = repository.bump_revision() if changes.any else repository.revision()
        uow.commit()
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


def export_texts(territory: Territory, with_phones: bool = False) -> dict[str, str]:
    """File name → text of every part."""
    return {
        "units.geojson": formats.units_geojson(territory.units),
        "people.csv": formats.people_csv(territory.people, with_phones),
        "departments.yml": formats.departments_yaml(
            territory.departments, territory.duties, with_phones
        ),
        "categories.yml": formats.categories_yaml(territory.categories),
    }


def export_store(
    store: Store, out: Path, vault: PhoneVault | None = None, with_phones: bool = False
) -> dict[str, int]:
    """Write the stored territory to ``out``; phones masked unless ``with_phones``."""
    with store.read() as session:
        territory = GridRepository(session).load(vault if with_phones else None)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in export_texts(territory, with_phones).items():
        (out / name).write_text(text, encoding="utf-8")
    return {
        "units": len(territory.units),
        "people": len(territory.people),
        "departments": len(territory.departments),
        "categories": len(territory.categories),
    }


def demo_bundle(settings: Settings) -> Bundle:
    """The generated demo county with the departments, duties and categories of the
    configuration (the ones dispatch routes by)."""
    config = settings.config_dir
    texts = {
        "departments": (config / "departments.yml").read_text(encoding="utf-8"),
        "categories": (config / "categories.yml").read_text(encoding="utf-8"),
    }
    bundle = parse_bundle(texts)
    territory = demo_territory()
    bundle.units = list(territory.units)
    bundle.people = list(territory.people)
    return bundle


def load_demo(store: Store, settings: Settings, vault: PhoneVault) -> ImportReport:
    return import_bundle(store, demo_bundle(settings), vault)
