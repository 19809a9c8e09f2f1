"""The category and department catalogues (categories.yml, departments.yml), read one way by
every service: the departments (职能部门) by code with their level and duty phone, the categories
of matters with their lead department, level, resolve limit and keywords.

Two layers. The entries as written (``DepartmentEntry``, ``CategoryEntry``, ``DutyEntry``,
pydantic models; ``department_entry``, ``category_entry``, ``duty_entry`` read one mapping, a
YAML entry or a CSV row): every field the format has, only the format's shape checked; grid
imports and exports these, checking them against its territory. The catalogues
(``Catalogue.from_texts``, ``departments_from_text``): the files as pydantic models
(``DepartmentsFile``, ``CategoriesFile``), their entries checked and completed (a category's
level defaults to its department's, its resolve limit to ``P5D``), as routing uses them.

Pure: the caller reads the files and hands their text in. A wrong file raises
``CatalogueError`` naming the file, the line and the field. ``read_departments`` and
``read_categories`` read documents parsed already, with no lines to name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from contracts.events import Assignee, Level
from kernel.config import ConfigError, Fault, PathStep, compose, dotted_path, line_of, load_model
from kernel.durations import PolicyError, parse_duration
from kernel.levels import LEVELS

DEFAULT_RESOLVE = "P5D"
DEPARTMENTS_FILE = "departments.yml"
CATEGORIES_FILE = "categories.yml"

T = TypeVar("T")
E = TypeVar("E", bound=BaseModel)


class CatalogueError(ConfigError, ValueError):
    """categories.yml or departments.yml is wrong. An entry's fault has where it is (``where``:
    the file, the entry and the field) and what is wrong with it (``detail``); a whole file's
    refusal, one field at fault a line, comes as its ``where`` alone."""

    def __init__(self, where: str, detail: str = "") -> None:
        super().__init__(f"{where}: {detail}" if detail else where)
        self.where = where
        self.detail = detail


# --- the entries as written ---------------------------------------------------------------


def _text(value: object) -> object:
    """A field as text: a YAML number (a unit code, a phone) or a CSV cell, stripped; none is
    empty."""
    if value is None:
        return ""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    return value


def _optional_text(value: object) -> object:
    return _text(value) or None


def _as_written(value: object) -> object:
    """A field the catalogue checks itself: text as written (empty stays empty, null stays
    none), so that a level or limit written empty is refused rather than defaulted."""
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    raise PydanticCustomError("as_written", "{value} is not text", {"value": repr(value)})


def _duration_as_written(value: object) -> object:
    if value is None or (isinstance(value, str | int | float) and not isinstance(value, bool)):
        return _as_written(value)
    raise PydanticCustomError(
        "duration",
        "{value} is not an ISO 8601 duration like PT2H or P5D",
        {"value": repr(value)},
    )


def _duties(value: object) -> object:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise PydanticCustomError("duties", "must be a list")
    return value


def keyword_weights(items: object) -> dict[str, float]:
    """Keywords as written: a word (weight 1) or ``word: weight``."""
    if items is None:
        return {}
    if not isinstance(items, list | tuple):
        raise PydanticCustomError("keywords", "must be a list of words")
    weights: dict[str, float] = {}
    for item in items:
        if isinstance(item, str):
            weights[item] = 1.0
        elif isinstance(item, Mapping) and len(item) == 1:
            ((word, weight),) = item.items()
            if isinstance(weight, bool) or not isinstance(weight, int | float):
                raise PydanticCustomError(
                    "keywords", "weight of {word} must be a number", {"word": repr(word)}
                )
            weights[str(word)] = float(weight)
        else:
            raise PydanticCustomError(
                "keywords", "{item} is neither a word nor word: weight", {"item": repr(item)}
            )
    return weights


Text = Annotated[str, BeforeValidator(_text)]
OptionalText = Annotated[str | None, BeforeValidator(_optional_text)]
AsWritten = Annotated[str | None, BeforeValidator(_as_written)]
DurationAsWritten = Annotated[str | None, BeforeValidator(_duration_as_written)]
Keywords = Annotated[dict[str, float], BeforeValidator(keyword_weights)]


class DutyEntry(BaseModel):
    """One duty of the duty list (职责清单) as written: a category (or group) code, and the
    level and role when they are not the department's level and ``lead``. Written either as
    the code alone or as ``{category, level, role}``."""

    model_config = ConfigDict(frozen=True)

    category: Text = ""
    level: OptionalText = None
    role: OptionalText = None

    @model_validator(mode="before")
    @classmethod
    def _code_or_mapping(cls, value: object) -> object:
        if isinstance(value, str):
            return {"category": value}
        if not isinstance(value, Mapping | BaseModel):
            raise PydanticCustomError("duty", "a duty is a category code or a mapping")
        return value


def _mapping(value: object) -> object:
    if not isinstance(value, Mapping | BaseModel):
        raise PydanticCustomError("entry", "expected a mapping")
    return value


class DepartmentEntry(BaseModel):
    """One entry of departments.yml as written (``level`` as the file words it)."""

    model_config = ConfigDict(frozen=True)

    code: Text = ""
    name: Text = ""
    level: Text = ""
    unit: OptionalText = None
    phone: OptionalText = None
    contact: OptionalText = None
    duties: Annotated[tuple[DutyEntry, ...], BeforeValidator(_duties)] = ()

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: object) -> object:
        return _mapping(value)


class CategoryEntry(BaseModel):
    """One entry of categories.yml as written: a category, or a group of them (its ``groups``:
    no department, level, resolve limit or keywords)."""

    model_config = ConfigDict(frozen=True)

    code: Text = ""
    name: Text = ""
    parent: OptionalText = None
    department: OptionalText = None
    level: OptionalText = None
    resolve: OptionalText = None
    risk: OptionalText = None
    keywords: Keywords = {}

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, value: object) -> object:
        return _mapping(value)


def _entry(model: type[E], entry: Any, where: str) -> E:
    """One entry of a file or a CSV row (whose other columns are not the entry's)."""
    try:
        return model.model_validate(entry)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        path = dotted_path([step for step in problem["loc"] if isinstance(step, str | int)])
        at = where if not path else f"{where}{'' if path.startswith('[') else '.'}{path}"
        raise CatalogueError(at, problem["msg"]) from None


def department_entry(entry: Any, where: str) -> DepartmentEntry:
    """One department, with its duties (category codes, or ``{category, level, role}``)."""
    return _entry(DepartmentEntry, entry, where)


def duty_entry(item: Any, where: str) -> DutyEntry:
    """A duty: a category code, or a mapping ``{category, level, role}``."""
    return _entry(DutyEntry, item, where)


def category_entry(entry: Any, where: str) -> CategoryEntry:
    """One category or group."""
    return _entry(CategoryEntry, entry, where)


# --- the files ----------------------------------------------------------------------------


def _none_is_empty(value: object) -> object:
    """``departments:`` written with nothing after it: none."""
    return () if value is None else value


class WrittenDuty(DutyEntry):
    model_config = ConfigDict(extra="forbid")


class WrittenDepartment(DepartmentEntry):
    """A department of departments.yml: a misspelt field is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    duties: Annotated[tuple[WrittenDuty, ...], BeforeValidator(_duties)] = ()


class WrittenCategory(CategoryEntry):
    """A category or group of categories.yml: a misspelt field is refused, not ignored; the
    level and resolve limit as written, for the catalogue to check."""

    model_config = ConfigDict(extra="forbid")

    level: AsWritten = None
    resolve: DurationAsWritten = None


class DepartmentsFile(BaseModel):
    """``departments.yml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    departments: Annotated[tuple[WrittenDepartment, ...], BeforeValidator(_none_is_empty)] = ()


class CategoriesFile(BaseModel):
    """``categories.yml``: the groups the categories are listed under, and the categories."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    groups: Annotated[tuple[WrittenCategory, ...], BeforeValidator(_none_is_empty)] = ()
    categories: Annotated[tuple[WrittenCategory, ...], BeforeValidator(_none_is_empty)] = ()


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


@dataclass(frozen=True)
class Catalogue:
    """Both catalogues, each category's department among the departments."""

    departments: Mapping[str, Department]
    categories: Mapping[str, Category]

    @classmethod
    def from_texts(
        cls,
        categories_text: str,
        departments_text: str,
        categories_name: str = CATEGORIES_FILE,
        departments_name: str = DEPARTMENTS_FILE,
    ) -> Catalogue:
        """categories.yml and departments.yml; a fault names the file, the line and the field."""
        departments = departments_from_text(departments_text, departments_name)
        written = load_model(categories_text, categories_name, CategoriesFile, CatalogueError)
        categories = _with_line(
            categories_text, categories_name, lambda: categories_of(written, departments)
        )
        return cls(departments, categories)


def departments_from_text(text: str, name: str = DEPARTMENTS_FILE) -> dict[str, Department]:
    """departments.yml's departments by code; a fault names the file, the line and the field."""
    written = load_model(text, name, DepartmentsFile, CatalogueError)
    return _with_line(text, name, lambda: departments_of(written))


def departments_of(written: DepartmentsFile) -> dict[str, Department]:
    """The departments by code, each with a code, a name and a known level."""
    departments = {}
    for index, entry in enumerate(written.departments):
        for key in ("code", "name", "level"):
            if not getattr(entry, key):
                raise Fault(("departments", index, key), "missing")
        level = known_level(entry.level, ("departments", index, "level"))
        departments[entry.code] = Department(entry.code, entry.name, level, entry.phone)
    return departments


def categories_of(
    written: CategoriesFile, departments: Mapping[str, Department]
) -> dict[str, Category]:
    """The categories by code; each names a department of ``departments``."""
    categories = {}
    for index, entry in enumerate(written.categories):
        at: tuple[PathStep, ...] = ("categories", index)
        if not entry.code or not entry.name:
            raise Fault(at, "code and name are required")
        department = departments.get(entry.department or "")
        if department is None:
            raise Fault((*at, "department"), f"{entry.department!r} is not a known department")
        given = entry.model_fields_set
        categories[entry.code] = Category(
            code=entry.code,
            name=entry.name,
            department=department.code,
            # as the file has them: a level or limit written empty is wrong, not the default
            level=known_level(
                entry.level if "level" in given else department.level, (*at, "level")
            ),
            resolve=resolve_limit(
                entry.resolve if "resolve" in given else DEFAULT_RESOLVE, (*at, "resolve")
            ),
            keywords=entry.keywords,
        )
    return categories


def known_level(level: object, path: Sequence[PathStep]) -> Level:
    if level not in LEVELS:
        raise Fault(path, f"{level!r} is not one of {LEVELS}")
    return level


def resolve_limit(value: object, path: Sequence[PathStep]) -> timedelta:
    where = dotted_path(path)
    try:
        return parse_duration(value, where)
    except PolicyError as exc:
        raise Fault(path, str(exc).removeprefix(f"{where}: ")) from None


def _with_line(text: str, name: str, check: Callable[[], T]) -> T:
    """``check`` of a file read already; its fault named with the line it is written on."""
    try:
        return check()
    except Fault as fault:
        root, document = compose(text, name, CatalogueError)
        where = f"{name} line {line_of(root, fault.path)}: {_label(fault.path, document)}"
        raise CatalogueError(where, fault.detail) from None


def _label(path: Sequence[PathStep], document: object) -> str:
    """``categories[3] (labour.wage_arrears).department``: a category also by its code."""
    if len(path) < 2 or path[0] != "categories" or not isinstance(path[1], int):
        return dotted_path(path)
    entries = document.get("categories") if isinstance(document, Mapping) else None
    entry = entries[path[1]] if isinstance(entries, list) and path[1] < len(entries) else None
    code = str(entry.get("code") or "").strip() if isinstance(entry, Mapping) else ""
    head = dotted_path(path[:2]) + (f" ({code})" if code else "")
    rest = dotted_path(path[2:])
    return f"{head}.{rest}" if rest else head


# --- documents parsed already -------------------------------------------------------------


def _validated(model: type[E], document: Mapping[str, Any], name: str) -> E:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        faults = []
        for problem in exc.errors(include_url=False):
            path = [step for step in problem["loc"] if isinstance(step, str | int)]
            faults.append(f"{name}: {_label(path, document)}: {problem['msg']}")
        raise CatalogueError("\n".join(faults)) from None


def _without_line(document: Mapping[str, Any], name: str, check: Callable[[], T]) -> T:
    try:
        return check()
    except Fault as fault:
        raise CatalogueError(f"{name}: {_label(fault.path, document)}", fault.detail) from None


def read_departments(document: Mapping[str, Any]) -> dict[str, Department]:
    """departments.yml's ``departments``, by code, from the document parsed already."""
    written = _validated(DepartmentsFile, document, DEPARTMENTS_FILE)
    return _without_line(document, DEPARTMENTS_FILE, lambda: departments_of(written))


def read_categories(
    document: Mapping[str, Any], departments: Mapping[str, Department]
) -> dict[str, Category]:
    """categories.yml's ``categories``, by code, from the document parsed already; each names a
    department of ``departments``."""
    written = _validated(CategoriesFile, document, CATEGORIES_FILE)
    return _without_line(document, CATEGORIES_FILE, lambda: categories_of(written, departments))
