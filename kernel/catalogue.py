"""The category and department catalogues (categories.yml, departments.yml), read one way by
every service: the departments (职能部门) by code with their level and duty phone, the categories
of matters with their lead department, level, resolve limit and keywords.

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
    """categories.yml or departments.yml is wrong; the message names the entry and field."""


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
    for index, entry in enumerate(document.get("departments") or []):
        where = f"departments.yml: departments[{index}]"
        for key in ("code", "name", "level"):
            if not entry.get(key):
                raise CatalogueError(f"{where}.{key}: missing")
        if entry["level"] not in LEVELS:
            raise CatalogueError(f"{where}.level: {entry['level']!r} is not one of {LEVELS}")
        phone = str(entry["phone"]) if entry.get("phone") else None
        departments[entry["code"]] = Department(entry["code"], entry["name"], entry["level"], phone)
    return departments


def read_categories(
    document: Mapping[str, Any], departments: Mapping[str, Department]
) -> dict[str, Category]:
    """categories.yml's ``categories``, by code; each names a department of ``departments``."""
    categories = {}
    for index, entry in enumerate(document.get("categories") or []):
        code = entry.get("code")
        where = f"categories.yml: categories[{index}] ({code})"
        if not code or not entry.get("name"):
            raise CatalogueError(f"{where}: code and name are required")
        if entry.get("department") not in departments:
            raise CatalogueError(
                f"{where}.department: {entry.get('department')!r} is not a known department"
            )
        try:
            resolve = parse_duration(entry.get("resolve", DEFAULT_RESOLVE), f"{where}.resolve")
        except PolicyError as exc:
            raise CatalogueError(str(exc)) from None
        level = entry.get("level", departments[entry["department"]].level)
        if level not in LEVELS:
            raise CatalogueError(f"{where}.level: {level!r} is not one of {LEVELS}")
        keywords = entry.get("keywords") or []
        if not isinstance(keywords, list):
            raise CatalogueError(f"{where}.keywords: must be a list of words")
        categories[code] = Category(
            code=code,
            name=entry["name"],
            department=entry["department"],
            level=level,
            resolve=resolve,
            keywords=keyword_weights(keywords, where),
        )
    return categories


def keyword_weights(items: Iterable[Any], where: str) -> dict[str, float]:
    """Keywords as written: a word (weight 1) or ``word: weight``."""
    weights: dict[str, float] = {}
    for item in items:
        if isinstance(item, str):
            weights[item] = 1.0
        elif isinstance(item, Mapping) and len(item) == 1:
            ((word, weight),) = item.items()
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise CatalogueError(f"{where}.keywords: weight of {word!r} must be a number")
            weights[str(word)] = float(weight)
        else:
            raise CatalogueError(f"{where}.keywords: {item!r} is neither a word nor word: weight")
    return weights
