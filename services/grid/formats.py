"""The exchange formats of a territory, text in and text out (the files are ``transfer``'s).

* ``units.geojson``: a FeatureCollection, one Feature per unit (basic and exclusive), with
  properties ``code``, ``name``, ``level``, ``parent``, optional ``kind`` (``basic`` |
  ``exclusive``), ``exclusive_type`` (school | hospital | market | enterprise |
  construction_site) and ``aliases`` (list of names), and a Polygon or MultiPolygon geometry.
* ``people.csv`` or ``people.yml``: ``unit, role, name, phone, wechat, person_id``.
* ``departments.yml`` or ``.csv``: ``code, name, level, unit, phone, contact`` and, in YAML,
  ``duties`` (category codes, or ``{category, level, role}``) — the same file format as
  ``deploy/config/departments.yml``.
* ``duties.csv`` or ``.yml``: ``department, category, level, role``.
* ``categories.yml`` or ``.csv``: ``groups`` and ``categories`` (``code, name, parent,
  department, level, resolve, risk, keywords``) — the format of
  ``deploy/config/categories.yml``.

Levels, roles and exclusive types may be written in Chinese (街镇, 专职网格员, 学校, …).

Each entry of departments, duties and categories, from YAML or a CSV row, is read by
``kernel.catalogue`` (``department_entry``, ``duty_entry``, ``category_entry``), the reader of
the format every service's catalogue comes from; a wrong one is a problem of the import.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import yaml

from contracts.common import RiskGrade, mask_phone
from contracts.events import Level
from contracts.rpc import DutyRole, ExclusiveType, StaffRole
from kernel.catalogue import (
    CatalogueError,
    CategoryEntry,
    DutyEntry,
    category_entry,
    department_entry,
    duty_entry,
)
from services.grid.domain import (
    EXCLUSIVE_WORDS,
    LEVEL_WORDS,
    LEVELS,
    ROLE_WORDS,
    Category,
    Department,
    Duty,
    Person,
    Problem,
    Unit,
)
from services.grid.geo import geometry_from_geojson, geometry_to_geojson
from services.grid.rules import check_phone

PEOPLE_COLUMNS = ("unit", "role", "name", "phone", "wechat", "person_id")
DEPARTMENT_COLUMNS = ("code", "name", "level", "unit", "phone", "contact")
DUTY_COLUMNS = ("department", "category", "level", "role")
CATEGORY_COLUMNS = (
    "code",
    "name",
    "parent",
    "department",
    "level",
    "resolve",
    "risk",
    "keywords",
)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _optional(value: Any) -> str | None:
    text = _text(value)
    return text or None


def _level(value: Any) -> str:
    text = _text(value)
    return LEVEL_WORDS.get(text, text)


# --- units ----------------------------------------------------------------------------------


def parse_units(text: str, source: str = "units.geojson") -> tuple[list[Unit], list[Problem]]:
    """Units from a GeoJSON FeatureCollection; each problem names the feature."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return [], [Problem(source, f"not JSON: {exc}")]
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return [], [Problem(source, "expected a GeoJSON FeatureCollection")]
    features = document.get("features")
    if not isinstance(features, list):
        return [], [Problem(source, "features must be a list")]
    units: list[Unit] = []
    problems: list[Problem] = []
    for index, feature in enumerate(features):
        unit, wrong = parse_feature(feature, f"{source}: features[{index}]")
        problems.extend(wrong)
        if unit is not None:
            units.append(unit)
    return units, problems


def parse_feature(feature: Any, origin: str) -> tuple[Unit | None, list[Problem]]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, [Problem(origin, "not a GeoJSON Feature")]
    properties = feature.get("properties")
    if not isinstance(properties, dict):
        return None, [Problem(origin, "properties are missing")]
    code = _text(properties.get("code"))
    name = _text(properties.get("name"))
    where = f"{origin} ({code} {name})" if code or name else origin
    problems: list[Problem] = []
    for key, value in (("code", code), ("name", name)):
        if not value:
            problems.append(Problem(where, f"property {key} is missing"))
    level = _level(properties.get("level"))
    if level not in LEVELS:
        problems.append(
            Problem(where, f"level {properties.get('level')!r} is not one of {', '.join(LEVELS)}")
        )
    kind = _text(properties.get("kind")) or "basic"
    if kind in ("专属网格", "专属"):
        kind = "exclusive"
    if kind not in ("basic", "exclusive"):
        problems.append(Problem(where, f"kind {kind!r} is not basic or exclusive"))
    raw_type = _optional(properties.get("exclusive_type"))
    exclusive_type = EXCLUSIVE_WORDS.get(raw_type, raw_type) if raw_type else None
    aliases = properties.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        problems.append(Problem(where, "aliases must be a list of names"))
        aliases = []
    geometry, wrong = geometry_from_geojson(feature.get("geometry"), where)
    problems.extend(wrong)
    if problems:
        return None, problems
    return (
        Unit(
            code=code,
            name=name,
            level=cast(Level, level),
            parent=_optional(properties.get("parent")),
            geometry=geometry,
            kind="exclusive" if kind == "exclusive" else "basic",
            exclusive_type=cast(ExclusiveType | None, exclusive_type),
            aliases=tuple(a.strip() for a in aliases if a.strip()),
            origin=origin,
        ),
        [],
    )


def units_geojson(units: Iterable[Unit]) -> str:
    features = []
    for unit in sorted(units, key=lambda u: (u.kind, _depth(u), u.code)):
        properties: dict[str, Any] = {
            "code": unit.code,
            "name": unit.name,
            "level": unit.level,
            "parent": unit.parent,
        }
        if unit.kind == "exclusive":
            properties["kind"] = "exclusive"
            properties["exclusive_type"] = unit.exclusive_type
        if unit.aliases:
            properties["aliases"] = list(unit.aliases)
        features.append(
            {
                "type": "Feature",
                "properties": properties,
                "geometry": geometry_to_geojson(unit.geometry) if unit.geometry else None,
            }
        )
    lines = ",\n".join(json.dumps(feature, ensure_ascii=False) for feature in features)
    return '{"type": "FeatureCollection", "features": [\n' + lines + "\n]}\n"


def _depth(unit: Unit) -> int:
    return LEVELS.index(unit.level)


# --- tables: CSV or YAML --------------------------------------------------------------------


def read_rows(
    text: str, source: str, key: str
) -> tuple[list[tuple[str, dict[str, Any]]], list[Problem]]:
    """Rows of a CSV (header first) or of a YAML list under ``key``, each with where it is."""
    if source.endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        rows = [(f"{source}: row {n}", dict(row)) for n, row in enumerate(reader, start=2)]
        return rows, []
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [], [Problem(source, f"not valid YAML: {exc}")]
    if document is None:
        return [], []
    if not isinstance(document, dict):
        return [], [Problem(source, f"expected a mapping with a {key!r} list")]
    entries = document.get(key) or []
    if not isinstance(entries, list):
        return [], [Problem(source, f"{key} must be a list")]
    rows = []
    problems = []
    for index, entry in enumerate(entries):
        where = f"{source}: {key}[{index}]"
        if isinstance(entry, dict):
            rows.append((where, entry))
        else:
            problems.append(Problem(where, "expected a mapping"))
    return rows, problems


def parse_people(text: str, source: str = "people.csv") -> tuple[list[Person], list[Problem]]:
    rows, problems = read_rows(text, source, "people")
    people = []
    counters: dict[tuple[str, str], int] = {}
    for where, row in rows:
        unit = _text(row.get("unit"))
        role = _text(row.get("role"))
        role = ROLE_WORDS.get(role, role)
        person_id = _text(row.get("person_id"))
        if not person_id:
            # Stable without an id column: the n-th person of a role in a unit.
            n = counters[(unit, role)] = counters.get((unit, role), 0) + 1
            person_id = f"{unit}-{role}-{n}"
        phone, wrong = check_phone(_optional(row.get("phone")), f"{where} ({unit} {role})")
        problems.extend(wrong)
        people.append(
            Person(
                person_id=person_id,
                unit=unit,
                role=cast(StaffRole, role),
                name=_text(row.get("name")),
                phone=phone,
                wechat=_optional(row.get("wechat")),
                origin=where,
            )
        )
    return people, problems


def people_csv(people: Iterable[Person], with_phones: bool) -> str:
    """People as CSV; phones masked unless ``with_phones`` (then it is personal data)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PEOPLE_COLUMNS)
    for person in sorted(people, key=lambda p: (p.unit, p.role, p.person_id)):
        phone = person.phone or ""
        writer.writerow(
            (
                person.unit,
                person.role,
                person.name,
                phone if with_phones or not phone else mask_phone(phone),
                person.wechat or "",
                person.person_id,
            )
        )
    return out.getvalue()


def parse_departments(
    text: str, source: str = "departments.yml"
) -> tuple[list[Department], list[Duty], list[Problem]]:
    """Departments and the duties listed with them, each entry read by the kernel."""
    rows, problems = read_rows(text, source, "departments")
    departments = []
    duties: list[Duty] = []
    for where, row in rows:
        try:
            entry = department_entry(row, where)
        except CatalogueError as exc:
            problems.append(Problem(exc.where, exc.detail))
            continue
        level = cast(Level, _level(entry.level))
        phone, wrong = check_phone(entry.phone, f"{where} ({entry.code})")
        problems.extend(wrong)
        departments.append(
            Department(
                code=entry.code,
                name=entry.name,
                level=level,
                unit=entry.unit,
                phone=phone,
                contact=entry.contact,
                origin=where,
            )
        )
        duties.extend(
            _duty(entry.code, duty, level, f"{where}.duties[{n}]")
            for n, duty in enumerate(entry.duties)
        )
    return departments, duties, problems


def _duty(department: str, duty: DutyEntry, level: Level, where: str) -> Duty:
    return Duty(
        department=department,
        category=duty.category,
        level=cast(Level, _level(duty.level) or level),
        role=cast(DutyRole, duty.role or "lead"),
        origin=where,
    )


def parse_duties(
    text: str, departments: Mapping[str, Department], source: str = "duties.csv"
) -> tuple[list[Duty], list[Problem]]:
    """Duty lines; a line without a level takes its department's."""
    rows, problems = read_rows(text, source, "duties")
    duties = []
    for where, row in rows:
        code = _text(row.get("department"))
        known = departments.get(code)
        # Unknown here: the stored department's level is filled in when merging.
        level = known.level if known else cast(Level, "")
        try:
            entry = duty_entry(row, where)
        except CatalogueError as exc:
            problems.append(Problem(exc.where, exc.detail))
            continue
        duties.append(_duty(code, entry, level, where))
    return duties, problems


def departments_yaml(
    departments: Iterable[Department], duties: Iterable[Duty], with_phones: bool
) -> str:
    by_department: dict[str, list[Duty]] = {}
    for duty in duties:
        by_department.setdefault(duty.department, []).append(duty)
    entries = []
    for department in sorted(departments, key=lambda d: (d.level != "district", d.code)):
        entry: dict[str, Any] = {
            "code": department.code,
            "name": department.name,
            "level": department.level,
        }
        if department.unit:
            entry["unit"] = department.unit
        if department.phone:
            entry["phone"] = department.phone if with_phones else mask_phone(department.phone)
        if department.contact:
            entry["contact"] = department.contact
        listed: list[str | dict[str, str]] = []
        for duty in sorted(by_department.get(department.code, []), key=lambda d: d.category):
            if duty.level == department.level and duty.role == "lead":
                listed.append(duty.category)
            else:
                listed.append({"category": duty.category, "level": duty.level, "role": duty.role})
        if listed:
            entry["duties"] = listed
        entries.append(entry)
    return _yaml({"departments": entries})


def parse_categories(
    text: str, source: str = "categories.yml"
) -> tuple[list[Category], list[Problem]]:
    """Groups (YAML only) and categories, each entry read by the kernel; in CSV, keywords are
    written ``word|word``."""
    problems: list[Problem] = []
    categories: list[Category] = []
    csv_file = source.endswith(".csv")
    for key in ("categories",) if csv_file else ("groups", "categories"):
        rows, wrong = read_rows(text, source, key)
        problems.extend(wrong)
        for where, row in rows:
            if csv_file:
                words = _text(row.get("keywords")).split("|")
                row = {**row, "keywords": [word.strip() for word in words if word.strip()]}
            try:
                entry = category_entry(row, where)
            except CatalogueError as exc:
                problems.append(Problem(exc.where, exc.detail))
                continue
            categories.append(
                _category(entry, where) if key == "categories" else _group(entry, where)
            )
    return categories, problems


def _group(entry: CategoryEntry, where: str) -> Category:
    risk = cast(RiskGrade | None, entry.risk)
    return Category(code=entry.code, name=entry.name, parent=entry.parent, risk=risk, origin=where)


def _category(entry: CategoryEntry, where: str) -> Category:
    level = _level(entry.level)
    return Category(
        code=entry.code,
        name=entry.name,
        parent=entry.parent,
        department=entry.department,
        level=cast(Level, level) if level else None,
        resolve=entry.resolve,
        risk=cast(RiskGrade | None, entry.risk),
        keywords=tuple(entry.keywords.items()),
        origin=where,
    )


def categories_yaml(categories: Sequence[Category]) -> str:
    groups = []
    entries = []
    for category in sorted(categories, key=lambda c: c.code):
        if category.is_group:
            group: dict[str, Any] = {"code": category.code, "name": category.name}
            if category.parent:
                group["parent"] = category.parent
            if category.risk:
                group["risk"] = category.risk
            groups.append(group)
            continue
        entry: dict[str, Any] = {"code": category.code, "name": category.name}
        for key in ("parent", "department", "level", "resolve", "risk"):
            value = getattr(category, key)
            if value is not None:
                entry[key] = value
        entry["keywords"] = [
            word if weight == 1.0 else {word: weight} for word, weight in category.keywords
        ]
        entries.append(entry)
    return _yaml({"groups": groups, "categories": entries})


def _yaml(document: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(document), allow_unicode=True, sort_keys=False, width=100)
