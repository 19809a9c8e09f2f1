"""The rules that make a territory consistent: what an import must pass before it is stored.

Every rule answers a list of ``Problem``s, each naming the feature or row it is about, so an
import reports all of them at once. The hierarchy (大中小微), people in their roles (一格四员),
departments (职能部门), the duty list (职责清单) and the category catalogue; geometry is
``geo``'s to check.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta

from pydantic import TypeAdapter, ValidationError

from contracts.common import Phone
from contracts.rpc import StaffRole
from services.grid.domain import (
    CODE_PATTERN,
    DEPARTMENT_LEVELS,
    DEPTH,
    DUTY_ROLES,
    EXCLUSIVE_PARENT_LEVELS,
    EXCLUSIVE_TYPES,
    GRID_ROLES,
    LEVELS,
    PARENT_LEVEL,
    RISK_GRADES,
    SOLE_ROLES,
    STAFF_ROLES,
    Category,
    Department,
    Duty,
    Person,
    Problem,
    Territory,
    Unit,
)
from services.grid.geo import DEFAULT_TOLERANCE_M, check_containment

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
