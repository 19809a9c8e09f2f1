"""Import and export of a territory: files to the grid database and back (``civicflow grid
import PATH`` / ``civicflow grid export``), and the demo county.

An import reads whatever parts the path holds (a directory of files named by part, or one such
file) and hands them to ``handlers.import_territory``, which stores them all or nothing.
"""

from __future__ import annotations

from pathlib import Path

from kernel.clock import Clock, SystemClock
from kit.db import Store
from kit.pii import PhoneVault
from kit.settings import Settings
from services.grid import formats
from services.grid.commands import ImportTerritory
from services.grid.demo import demo_territory
from services.grid.domain import Bundle, GridImportError, Problem, Territory
from services.grid.geo import DEFAULT_TOLERANCE_M
from services.grid.handlers import ImportReport, import_territory
from services.grid.repository import GridRepository
from services.grid.unit_of_work import SqlGridUnitOfWork

FILE_NAMES: dict[str, tuple[str, ...]] = {
    "units": ("units.geojson", "units.json"),
    "people": ("people.csv", "people.yml", "people.yaml"),
    "departments": ("departments.yml", "departments.yaml", "departments.csv"),
    "duties": ("duties.csv", "duties.yml", "duties.yaml"),
    "categories": ("categories.yml", "categories.yaml", "categories.csv"),
}


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


SYSTEM_CLOCK = SystemClock()


def import_bundle(
    store: Store,
    bundle: Bundle,
    vault: PhoneVault,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    clock: Clock = SYSTEM_CLOCK,
) -> ImportReport:
    """Validate and store the bundle, with its change events, in one transaction."""
    command = ImportTerritory(bundle, tolerance_m)
    return import_territory(SqlGridUnitOfWork(store, vault), command, clock.now())


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
        opened = with_phones and vault is not None
        territory = GridRepository(session, vault).load(open_phones=opened)
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
