"""The territory as plain values, and what an import does to it.

区 > 街镇 > 村居 > 网格 > 微网格 ("大中小微"): every unit has a code, a name, a level, a parent one
level up and a polygon. Exclusive grids (专属网格: a school, a hospital, a market, an enterprise,
a construction site) are grid-level units of their own that overlay the basic grids; their
parent is the community (or street) that manages them. Each grid has its 一格四员 (party-group
leader, police liaison, full-time grid worker, mediators and volunteers); departments (职能部门)
at district and street level handle categories of matters by their duty list (职责清单).

Pure: no I/O. The rules a territory must pass are in ``rules``; geometry is shapely's, checked
in ``geo``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from shapely.geometry.base import BaseGeometry

from contracts.common import RiskGrade
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


# --- an import ------------------------------------------------------------------------------


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


@dataclass
class Changes:
    """What storing a territory changed: unit codes, units whose people changed, and whether
    departments, duties or categories did."""

    units: set[str] = field(default_factory=set)
    staff_units: set[str] = field(default_factory=set)
    responsibilities: bool = False

    @property
    def any(self) -> bool:
        return bool(self.units or self.staff_units or self.responsibilities)


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
