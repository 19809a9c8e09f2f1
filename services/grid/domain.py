"""The territory as plain values, and the rules that make a territory consistent.

区 > 街镇 > 村居 > 网格 > 微网格 ("大中小微"): every unit has a code, a name, a level, a parent one
level up and a polygon. Exclusive grids (专属网格: a school, a hospital, a market, an enterprise,
a construction site) are grid-level units of their own that overlay the basic grids; their
parent is the community (or street) that manages them. Each grid has its 一格四员 (party-group
leader, police liaison, full-time grid worker, mediators and volunteers); departments (职能部门)
at district and street level handle categories of matters by their duty list (职责清单).

Pure: no I/O. Geometry is shapely's, checked in ``geo``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from pydantic import TypeAdapter, ValidationError
from shapely.geometry.base import BaseGeometry

from contracts.common import Phone, RiskGrade
from contracts.events import Level
from contracts.rpc import DutyRole, ExclusiveType, StaffRole
from kernel.levels import PARENT_LEVEL as TERRITORY_PARENT
from kernel.levels import TOP_DOWN

UnitKind = Literal["basic", "exclusive"]

LEVELS: tuple[Level, ...] = TOP_DOWN
"""Top down: 区, 街镇, 村居, 网格, 微网格 (the kernel's levels)."""

DEPTH: dict[Level, int] = {level: depth for depth, level in enumerate(LEVELS)}

PARENT_LEVEL: dict[Level, Level] = dict(TERRITORY_PARENT)

EXCLUSIVE_TYPES: tuple[ExclusiveType, ...] = (
    "school",
    "hospital",
    "market",
    "enterprise",
    "construction_site",
)
EXCLUSIVE_PARENT_LEVELS: tuple[Level, ...] = ("community", "street")
"""An exclusive grid is managed by a community, or by a street when it spans several."""

STAFF_ROLES: tuple[StaffRole, ...] = (
    "supervisor",
    "party_leader",
    "police",
    "grid_worker",
    "mediator",
    "volunteer",
    "micro_grid_worker",
)
GRID_ROLES: frozenset[StaffRole] = frozenset(
    {"party_leader", "police", "grid_worker", "mediator", "volunteer"}
)
"""一格四员: the roles of a grid, basic or exclusive."""
SOLE_ROLES: frozenset[StaffRole] = frozenset({"party_leader", "police", "grid_worker"})
"""Each grid has one of these (the seeds: 1 名党小组长、1 名指导员、1 名专职网格员)."""

DEPARTMENT_LEVELS: tuple[Level, ...] = ("district", "street")
DUTY_ROLES: tuple[DutyRole, ...] = ("lead", "assist")
RISK_GRADES: tuple[RiskGrade, ...] = ("red", "yellow", "blue")

CODE_PATTERN = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")

# Chinese words a county's own spreadsheet may use instead of ours.
LEVEL_WORDS: dict[str, Level] = {
    "区": "district",
    "县": "district",
    "区县": "district",
    "街镇": "street",
    "街道": "street",
    "镇": "street",
    "乡": "street",
    "村居": "community",
    "社区": "community",
    "村": "community",
    "网格": "grid",
    "微网格": "micro_grid",
}
ROLE_WORDS: dict[str, StaffRole] = {
    "督导": "supervisor",
    "督导员": "supervisor",
    "党小组长": "party_leader",
    "指导员": "police",
    "民警": "police",
    "公安民警": "police",
    "专职网格员": "grid_worker",
    "网格员": "grid_worker",
    "调解员": "mediator",
    "矛盾纠纷调解员": "mediator",
    "志愿者": "volunteer",
    "微网格员": "micro_grid_worker",
}
EXCLUSIVE_WORDS: dict[str, ExclusiveType] = {
    "学校": "school",
    "医院": "hospital",
    "市场": "market",
    "企业": "enterprise",
    "工地": "construction_site",
    "建筑工地": "construction_site",
}


@dataclass(frozen=True)
class Unit:
    """One unit of the territory. ``geometry`` is a shapely (Multi)Polygon in lon/lat."""

    code: str
    name: str
    level: Level
    parent: str | None
    geometry: BaseGeometry | None = None
    kind: UnitKind = "basic"
    exclusive_type: ExclusiveType | None = None
    aliases: tuple[str, ...] = ()
    origin: str = field(default="", compare=False)
    """Where it was read from (``units.geojson: features[12]``), for error messages."""

    @property
    def label(self) -> str:
        """How an error names it: its origin, code and name."""
        what = f"{self.code} {self.name}".strip()
        return f"{self.origin} ({what})" if self.origin else what


@dataclass(frozen=True)
class Person:
    """One person in one role of one unit. ``phone`` is the plain number when imported, the
    masked one when read back from the store (which keeps it sealed)."""

    person_id: str
    unit: str
    role: StaffRole
    name: str
    phone: str | None = None
    wechat: str | None = None
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class Department:
    """A functional department (职能部门); a street-level one belongs to its street."""

    code: str
    name: str
    level: Level
    unit: str | None = None
    phone: str | None = None
    contact: str | None = None
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class Duty:
    """One line of the duty list: this department handles this category at this level."""

    department: str
    category: str
    level: Level
    role: DutyRole = "lead"
    origin: str = field(default="", compare=False)


@dataclass(frozen=True)
class Category:
    """One entry of the category catalogue. A group (no department) only gathers its
    children: a duty on a group covers every category under it."""

    code: str
    name: str
    parent: str | None = None
    department: str | None = None
    level: Level | None = None
    resolve: str | None = None
    risk: RiskGrade | None = None
    keywords: tuple[tuple[str, float], ...] = ()
    origin: str = field(default="", compare=False)

    @property
    def is_group(self) -> bool:
        return self.department is None


@dataclass(frozen=True)
class Territory:
    """Everything grid owns, as one value: what an import brings and the index serves."""

    units: tuple[Unit, ...] = ()
    people: tuple[Person, ...] = ()
    departments: tuple[Department, ...] = ()
    duties: tuple[Duty, ...] = ()
    categories: tuple[Category, ...] = ()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an import, naming where it is."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class GridImportError(Exception):
    """An import was refused; nothing of it was written."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {problem}" for problem in self.problems[:50])
        more = len(self.problems) - 50
        tail = f"\n  … and {more} more" if more > 0 else ""
        super().__init__(f"{len(self.problems)} problem(s):\n{shown}{tail}")


def spread(total: int, buckets: int) -> list[int]:
    """``total`` items over ``buckets`` as evenly as whole numbers allow, larger first."""
    base, extra = divmod(total, buckets)
    return [base + (1 if index < extra else 0) for index in range(buckets)]


# --- hierarchy rules ------------------------------------------------------------------------


def check_units(units: Sequence[Unit]) -> list[Problem]:
    """Codes unique and well formed, exactly one district at the root, every parent known and
    exactly one level up (exclusive grids: a community or a street), exclusive grids typed.

    Geometry (rings, validity, child inside parent) is ``geo``'s to check."""
    problems: list[Problem] = []
    first: dict[str, Unit] = {}
    for unit in units:
        if not CODE_PATTERN.match(unit.code):
            problems.append(
                Problem(unit.label, "code must be 1-32 letters, digits, '.', '_' or '-'")
            )
        if not unit.name.strip():
            problems.append(Problem(unit.label, "name is empty"))
        if unit.code in first:
            problems.append(
                Problem(unit.label, f"code {unit.code} is already used by {first[unit.code].label}")
            )
        else:
            first[unit.code] = unit
    districts = [unit for unit in units if unit.level == "district" and unit.kind == "basic"]
    if units and len(districts) != 1:
        names = ", ".join(unit.label for unit in districts) or "none"
        problems.append(
            Problem("units", f"exactly one district is needed at the root; found {names}")
        )
    for unit in units:
        if unit.level not in LEVELS:
            problems.append(Problem(unit.label, f"level {unit.level!r} is not one of {LEVELS}"))
        elif unit.kind not in ("basic", "exclusive"):
            problems.append(Problem(unit.label, f"kind {unit.kind!r} is not basic or exclusive"))
        else:
            problems.extend(_parent_problems(unit, first))
    return problems


def _parent_problems(unit: Unit, by_code: Mapping[str, Unit]) -> list[Problem]:
    if unit.kind == "exclusive":
        problems = []
        if unit.exclusive_type not in EXCLUSIVE_TYPES:
            problems.append(
                Problem(
                    unit.label,
                    f"exclusive grid needs a type, one of {', '.join(EXCLUSIVE_TYPES)}; "
                    f"got {unit.exclusive_type!r}",
                )
            )
        if unit.level != "grid":
            problems.append(
                Problem(unit.label, f"an exclusive grid is at level grid, not {unit.level}")
            )
        parent = by_code.get(unit.parent) if unit.parent else None
        if unit.parent is None:
            problems.append(Problem(unit.label, "an exclusive grid needs a parent"))
        elif parent is None:
            problems.append(Problem(unit.label, f"parent {unit.parent} is not a unit"))
        elif parent.kind != "basic" or parent.level not in EXCLUSIVE_PARENT_LEVELS:
            problems.append(
                Problem(
                    unit.label,
                    f"parent {parent.code} is a {parent.level}; an exclusive grid belongs to a "
                    "community or a street",
                )
            )
        return problems
    if unit.exclusive_type is not None:
        return [Problem(unit.label, "only an exclusive grid has an exclusive type")]
    if unit.level == "district":
        if unit.parent is not None:
            return [Problem(unit.label, f"a district has no parent, got {unit.parent}")]
        return []
    if unit.parent is None:
        return [Problem(unit.label, f"a {unit.level} needs a parent ({PARENT_LEVEL[unit.level]})")]
    parent = by_code.get(unit.parent)
    if parent is None:
        return [Problem(unit.label, f"parent {unit.parent} is not a unit")]
    expected = PARENT_LEVEL[unit.level]
    if parent.kind != "basic" or parent.level != expected:
        what = "an exclusive grid" if parent.kind == "exclusive" else f"a {parent.level}"
        return [
            Problem(
                unit.label,
                f"levels inconsistent: a {unit.level}'s parent must be a {expected}, "
                f"but {parent.code} is {what}",
            )
        ]
    return []


_PHONE = TypeAdapter(Phone)
_DURATION = TypeAdapter(timedelta)
MASKED = re.compile(r"\*")


def check_phone(value: str | None, where: str) -> tuple[str | None, list[Problem]]:
    """The number in canonical digits, or the problem with it."""
    if value is None or value == "":
        return None, []
    if MASKED.search(value):
        return None, [
            Problem(
                where,
                f"phone {value} is masked; export with --with-phones to get numbers that import",
            )
        ]
    try:
        return _PHONE.validate_python(value), []
    except ValidationError:
        return None, [Problem(where, f"phone {value!r} is not a Chinese mobile or landline number")]


def _phone_problems(phone: str | None, where: str) -> list[Problem]:
    """A masked number was read back from the store, where only checked numbers go; an
    imported file with masked numbers is refused when it is parsed."""
    if phone is None or MASKED.search(phone):
        return []
    return check_phone(phone, where)[1]


def check_people(people: Sequence[Person], units: Mapping[str, Unit]) -> list[Problem]:
    """Each person in a known unit, in a role that unit has, with a name and a valid phone;
    one party-group leader, police liaison and full-time grid worker per grid at most."""
    problems: list[Problem] = []
    seen: set[tuple[str, StaffRole, str]] = set()
    sole: Counter[tuple[str, StaffRole]] = Counter()
    for person in people:
        where = person.origin or f"person {person.person_id}"
        where = f"{where} ({person.unit} {person.role} {person.name})"
        unit = units.get(person.unit)
        if not person.name.strip():
            problems.append(Problem(where, "name is empty"))
        if not person.person_id.strip():
            problems.append(Problem(where, "person_id is empty"))
        if person.role not in STAFF_ROLES:
            problems.append(
                Problem(where, f"role {person.role!r} is not one of {', '.join(STAFF_ROLES)}")
            )
        if unit is None:
            problems.append(Problem(where, f"unit {person.unit} is not a unit"))
        elif not role_fits(person.role, unit):
            problems.append(
                Problem(where, f"a {unit.level} ({unit.kind}) has no {person.role} role")
            )
        key = (person.unit, person.role, person.person_id)
        if key in seen:
            problems.append(Problem(where, f"{person.person_id} is listed twice in this role"))
        seen.add(key)
        if person.role in SOLE_ROLES:
            sole[(person.unit, person.role)] += 1
            if sole[(person.unit, person.role)] == 2:
                problems.append(
                    Problem(where, f"grid {person.unit} already has a {person.role}: one only")
                )
        problems.extend(_phone_problems(person.phone, where))
    return problems


def role_fits(role: str, unit: Unit) -> bool:
    """Which roles a unit has: 一格四员 in grids, 微网格员 in micro-grids, supervisors
    anywhere."""
    if role == "supervisor":
        return True
    if role == "micro_grid_worker":
        return unit.level == "micro_grid"
    return role in GRID_ROLES and unit.level == "grid"


def staffing_warnings(people: Sequence[Person], units: Sequence[Unit]) -> list[Problem]:
    """Basic grids missing one of the sole roles: allowed, but worth saying."""
    present = {(person.unit, person.role) for person in people}
    warnings = []
    for unit in units:
        if unit.level == "grid" and unit.kind == "basic":
            missing = [role for role in sorted(SOLE_ROLES) if (unit.code, role) not in present]
            if missing:
                warnings.append(Problem(unit.label, f"no {', '.join(missing)}"))
    return warnings


def check_departments(
    departments: Sequence[Department], units: Mapping[str, Unit]
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for department in departments:
        where = department.origin or f"department {department.code}"
        where = f"{where} ({department.code} {department.name})"
        if not CODE_PATTERN.match(department.code):
            problems.append(Problem(where, "code must be 1-32 letters, digits, '.', '_' or '-'"))
        if department.code in seen:
            problems.append(Problem(where, f"code {department.code} is listed twice"))
        seen.add(department.code)
        if not department.name.strip():
            problems.append(Problem(where, "name is empty"))
        if department.level not in DEPARTMENT_LEVELS:
            problems.append(
                Problem(where, f"level {department.level!r} must be district or street")
            )
        elif department.level == "street":
            unit = units.get(department.unit or "")
            if department.unit is None:
                problems.append(Problem(where, "a street-level department names its street (unit)"))
            elif unit is None or unit.level != "street" or unit.kind != "basic":
                problems.append(Problem(where, f"unit {department.unit} is not a street"))
        elif department.unit is not None:
            unit = units.get(department.unit)
            if unit is None or unit.level != "district":
                problems.append(Problem(where, f"unit {department.unit} is not the district"))
        problems.extend(_phone_problems(department.phone, where))
    return problems


def check_categories(
    categories: Sequence[Category], departments: Mapping[str, Department]
) -> list[Problem]:
    problems: list[Problem] = []
    by_code: dict[str, Category] = {}
    for category in categories:
        where = category.origin or f"category {category.code}"
        where = f"{where} ({category.code})"
        if not category.code or not category.name:
            problems.append(Problem(where, "code and name are required"))
        if category.code in by_code:
            problems.append(Problem(where, f"code {category.code} is listed twice"))
        by_code.setdefault(category.code, category)
        if category.department is not None and category.department not in departments:
            problems.append(Problem(where, f"department {category.department} is not known"))
        if category.level is not None and category.level not in LEVELS:
            problems.append(Problem(where, f"level {category.level!r} is not one of {LEVELS}"))
        if category.risk is not None and category.risk not in RISK_GRADES:
            problems.append(Problem(where, f"risk {category.risk!r} is not red, yellow or blue"))
        if category.resolve is not None and not is_duration(category.resolve):
            problems.append(
                Problem(where, f"resolve {category.resolve!r} is not an ISO 8601 duration (P5D)")
            )
    for category in categories:
        if category.parent is None:
            continue
        where = f"{category.origin or 'category'} ({category.code})"
        parent = by_code.get(category.parent)
        if parent is None:
            problems.append(Problem(where, f"parent {category.parent} is not a category"))
            continue
        # Walk up: a loop would make "the category and its groups" endless.
        seen = {category.code}
        while parent is not None:
            if parent.code in seen:
                problems.append(Problem(where, f"parents loop back through {parent.code}"))
                break
            seen.add(parent.code)
            parent = by_code.get(parent.parent) if parent.parent else None
    return problems


def is_duration(value: str) -> bool:
    if not value.startswith("P"):
        return False
    try:
        return _DURATION.validate_python(value) > timedelta(0)
    except ValidationError:
        return False


def check_duties(
    duties: Sequence[Duty],
    departments: Mapping[str, Department],
    categories: Mapping[str, Category],
) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()
    for duty in duties:
        where = duty.origin or "duty"
        where = f"{where} ({duty.department} {duty.category} {duty.level})"
        department = departments.get(duty.department)
        if department is None:
            problems.append(Problem(where, f"department {duty.department} is not known"))
        elif DEPTH.get(duty.level, -1) < DEPTH[department.level]:
            problems.append(
                Problem(
                    where,
                    f"a {department.level}-level department cannot hold a {duty.level}-level duty",
                )
            )
        if duty.level not in DEPARTMENT_LEVELS:
            problems.append(Problem(where, f"level {duty.level!r} must be district or street"))
        if duty.category not in categories:
            problems.append(Problem(where, f"category {duty.category} is not in the catalogue"))
        if duty.role not in DUTY_ROLES:
            problems.append(Problem(where, f"role {duty.role!r} must be lead or assist"))
        key = (duty.department, duty.category, duty.level)
        if key in seen:
            problems.append(Problem(where, "listed twice"))
        seen.add(key)
    return problems


def check_references(territory: Territory) -> list[Problem]:
    """Every rule that is not geometry, across the parts of one territory."""
    units = {unit.code: unit for unit in territory.units}
    departments = {department.code: department for department in territory.departments}
    categories = {category.code: category for category in territory.categories}
    return [
        *check_units(territory.units),
        *check_people(territory.people, units),
        *check_departments(territory.departments, units),
        *check_categories(territory.categories, departments),
        *check_duties(territory.duties, departments, categories),
    ]


# --- duty list ------------------------------------------------------------------------------


def effective_duties(territory: Territory) -> list[Duty]:
    """The duty list as routing reads it: the explicit lines, plus the lead that each
    category names itself (its ``department`` at its ``level``)."""
    departments = {department.code: department for department in territory.departments}
    duties = list(territory.duties)
    present = {(duty.department, duty.category, duty.level) for duty in duties}
    for category in territory.categories:
        department = departments.get(category.department or "")
        if department is None:
            continue
        level = category.level if category.level in DEPARTMENT_LEVELS else department.level
        if DEPTH[level] < DEPTH[department.level]:
            level = department.level
        key = (department.code, category.code, level)
        if key not in present:
            present.add(key)
            duties.append(Duty(department.code, category.code, level, "lead"))
    return duties


def ancestors(code: str, parents: Mapping[str, str | None]) -> list[str]:
    """``code`` and its ancestors, nearest first; stops at an unknown code or a loop."""
    chain: list[str] = []
    current: str | None = code
    while current is not None and current in parents and current not in chain:
        chain.append(current)
        current = parents[current]
    return chain


def group_by_unit(people: Iterable[Person]) -> dict[str, list[Person]]:
    grouped: dict[str, list[Person]] = defaultdict(list)
    for person in people:
        grouped[person.unit].append(person)
    return grouped
