"""The category and department catalogues (categories.yml, departments.yml), read one way by
every service: the departments (职能部门) by code with their level and duty phone, the categories
of matters with their lead department, level, resolve limit and keywords.

Two layers. The entries as written (``department_entry``, ``category_entry``, ``duty_entry``):
every field the format has, read from one mapping (a YAML entry, or a CSV row), only the
format's shape checked; grid imports and exports these, checking them against its territory.
The catalogues (``read_departments``, ``read_categories``): the entries checked and completed
(a category's level defaults to its department's, its resolve limit to ``P5D``), as routing
uses them.

Pure: the caller reads the files and hands their parsed documents in. A wrong entry raises
``CatalogueError`` naming the file, the entry and the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from contracts.events import Assignee, Level
from kernel.config import ConfigError
from kernel.durations import PolicyError, parse_duration
from kernel.levels import LEVELS

DEFAULT_RESOLVE = "P5D"


class CatalogueError(ConfigError, ValueError):
    """categories.yml or departments.yml is wrong; the message names the entry and field
    (``where``) and what is wrong with it (``detail``)."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__(f"{where}: {detail}")
        self.where = where
        self.detail = detail


# --- the entries as written ---------------------------------------------------------------


@dataclass(frozen=True)
class DutyEntry:
    """One duty of the duty list (职责清单) as written: a category (or group) code, and the
    level and role when they are not the department's level and ``lead``."""

    category: str
    level: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class DepartmentEntry:
    """One entry of departments.yml as written (``level`` as the file words it)."""

    code: str
    name: str
    level: str
    unit: str | None = None
    phone: str | None = None
    contact: str | None = None
    duties: tuple[DutyEntry, ...] = ()


@dataclass(frozen=True)
class CategoryEntry:
    """One entry of categories.yml as written: a category, or a group of them (its ``groups``:
    no department, level, resolve limit or keywords)."""

    code: str
    name: str
    parent: str | None = None
    department: str | None = None
    level: str | None = None
    resolve: str | None = None
    risk: str | None = None
    keywords: Mapping[str, float] = field(default_factory=dict)


def text(value: Any) -> str:
    """A field as text: a YAML number (a unit code, a phone) or a CSV cell, stripped."""
    return "" if value is None else str(value).strip()


def optional_text(value: Any) -> str | None:
    return text(value) or None


def mapping(entry: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(entry, Mapping):
        raise CatalogueError(where, "expected a mapping")
    return entry


def department_entry(entry: Any, where: str) -> DepartmentEntry:
    """One department, with its duties (category codes, or ``{category, level, role}``)."""
    entry = mapping(entry, where)
    listed = entry.get("duties") or []
    if not isinstance(listed, list):
        raise CatalogueError(f"{where}.duties", "must be a list")
    return DepartmentEntry(
        code=text(entry.get("code")),
        name=text(entry.get("name")),
        level=text(entry.get("level")),
        unit=optional_text(entry.get("unit")),
        phone=optional_text(entry.get("phone")),
        contact=optional_text(entry.get("contact")),
        duties=tuple(duty_entry(item, f"{where}.duties[{n}]") for n, item in enumerate(listed)),
    )


def duty_entry(item: Any, where: str) -> DutyEntry:
    """A duty: a category code, or a mapping ``{category, level, role}``."""
    if isinstance(item, str):
        return DutyEntry(item.strip())
    if not isinstance(item, Mapping):
        raise CatalogueError(where, "a duty is a category code or a mapping")
    return DutyEntry(
        category=text(item.get("category")),
        level=optional_text(item.get("level")),
        role=optional_text(item.get("role")),
    )


def category_entry(entry: Any, where: str) -> CategoryEntry:
    """One category or group."""
    entry = mapping(entry, where)
    keywords = entry.get("keywords") or []
    if not isinstance(keywords, list):
        raise CatalogueError(f"{where}.keywords", "must be a list of words")
    return CategoryEntry(
        code=text(entry.get("code")),
        name=text(entry.get("name")),
        parent=optional_text(entry.get("parent")),
        department=optional_text(entry.get("department")),
        level=optional_text(entry.get("level")),
        resolve=optional_text(entry.get("resolve")),
        risk=optional_text(entry.get("risk")),
        keywords=keyword_weights(keywords, where),
    )


def keyword_weights(items: Iterable[Any], where: str) -> dict[str, float]:
    """Keywords as written: a word (weight 1) or ``word: weight``."""
    weights: dict[str, float] = {}
    for item in items:
        if isinstance(item, str):
            weights[item] = 1.0
        elif isinstance(item, Mapping) and len(item) == 1:
            ((word, weight),) = item.items()
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise CatalogueError(f"{where}.keywords", f"weight of {word!r} must be a number")
            weights[str(word)] = float(weight)
        else:
            raise CatalogueError(
                f"{where}.keywords", f"{item!r} is neither a word nor word: weight"
            )
    return weights


# --- the catalogues -----------------------------------------------------------------------


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    level: Level
    phone: str | None = None

    def as_assignee(self) -> Assignee:
        return Assignee(kind="department", code=self.code, name=self.name)


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    department: str
    level: Level
    resolve: timedelta
    keywords: Mapping[str, float] = field(default_factory=dict)


def read_departments(document: Mapping[str, Any]) -> dict[str, Department]:
    """departments.yml's ``departments``, by code."""
    departments = {}
    for index, item in enumerate(document.get("departments") or []):
        where = f"departments.yml: departments[{index}]"
        entry = department_entry(item, where)
        for key in ("code", "name", "level"):
            if not getattr(entry, key):
                raise CatalogueError(f"{where}.{key}", "missing")
        level = known_level(entry.level, f"{where}.level")
        departments[entry.code] = Department(entry.code, entry.name, level, entry.phone)
    return departments


def read_categories(
    document: Mapping[str, Any], departments: Mapping[str, Department]
) -> dict[str, Category]:
    """categories.yml's ``categories``, by code; each names a department of ``departments``."""
    categories = {}
    for index, item in enumerate(document.get("categories") or []):
        code = text(item.get("code")) if isinstance(item, Mapping) else ""
        where = f"categories.yml: categories[{index}] ({code})"
        entry = category_entry(item, where)
        if not entry.code or not entry.name:
            raise CatalogueError(where, "code and name are required")
        department = departments.get(entry.department or "")
        if department is None:
            raise CatalogueError(
                f"{where}.department", f"{item.get('department')!r} is not a known department"
            )
        categories[entry.code] = Category(
            code=entry.code,
            name=entry.name,
            department=department.code,
            # as the file has them: a level or limit written empty is wrong, not the default
            level=known_level(item.get("level", department.level), f"{where}.level"),
            resolve=resolve_limit(item.get("resolve", DEFAULT_RESOLVE), f"{where}.resolve"),
            keywords=entry.keywords,
        )
    return categories


def known_level(level: object, where: str) -> Level:
    if level not in LEVELS:
        raise CatalogueError(where, f"{level!r} is not one of {LEVELS}")
    return level


def resolve_limit(value: object, where: str) -> timedelta:
    try:
        return parse_duration(value, where)
    except PolicyError as exc:
        raise CatalogueError(where, str(exc).removeprefix(f"{where}: ")) from None
