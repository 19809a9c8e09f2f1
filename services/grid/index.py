"""The territory in memory, answering every read the grid service serves.

Built once from a ``Territory`` (at start, and again whenever the stored territory changes);
immutable afterwards, so concurrent readers need no lock. Answers are the RPC contracts, built
from pieces prepared at build time: a ``locate`` costs one STRtree query and a list copy.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

from shapely.geometry import Point

from contracts.common import mask_phone
from contracts.events import Level
from contracts.rpc import (
    CategoryEntry,
    DepartmentDuty,
    ExclusiveGridRef,
    GridUnit,
    Location,
    StaffMember,
)
from services.grid.address import AddressMatcher
from services.grid.domain import (
    DEPARTMENT_LEVELS,
    DEPTH,
    LEVELS,
    STAFF_ROLES,
    Category,
    Department,
    Duty,
    Person,
    Territory,
    Unit,
    ancestors,
    effective_duties,
)
from services.grid.geo import PointLocator
from services.grid.outlines import outlines

DEEPEST_FIRST: tuple[Level, ...] = tuple(reversed(LEVELS))
MAX_UNITS = 5000


def unit_view(unit: Unit) -> GridUnit:
    return GridUnit(code=unit.code, name=unit.name, level=unit.level, parent=unit.parent)


def _masked(phone: str | None) -> str | None:
    return mask_phone(phone) if phone else None


class TerritoryIndex:
    def __init__(self, territory: Territory) -> None:
        self.territory = territory
        units = sorted(territory.units, key=lambda unit: unit.code)
        self.units: dict[str, Unit] = {unit.code: unit for unit in units}
        self.views: dict[str, GridUnit] = {unit.code: unit_view(unit) for unit in units}
        parents = {unit.code: unit.parent for unit in units}
        self.chains: dict[str, list[GridUnit]] = {
            code: [self.views[c] for c in ancestors(code, parents)] for code in self.units
        }
        self.listing = _listing(units, self.views)
        self.locators: dict[Level, PointLocator] = {
            level: PointLocator(
                [
                    (unit.code, unit.geometry)
                    for unit in units
                    if unit.kind == "basic" and unit.level == level and unit.geometry is not None
                ]
            )
            for level in LEVELS
        }
        exclusive = [unit for unit in units if unit.kind == "exclusive"]
        self.exclusive_locator = PointLocator(
            [(unit.code, unit.geometry) for unit in exclusive if unit.geometry is not None]
        )
        self.exclusive_refs = _exclusive_refs(exclusive)
        # Where an exclusive grid lies among the basic units: the chain of a point inside it.
        self.inside: dict[str, Point] = {
            unit.code: unit.geometry.representative_point()
            for unit in exclusive
            if unit.geometry is not None
        }
        self.matcher = AddressMatcher(units)
        self.staff_by_unit = _staff_by_unit(territory.people)
        self.departments: dict[str, Department] = {d.code: d for d in territory.departments}
        self.categories: dict[str, Category] = {c.code: c for c in territory.categories}
        self.duties: dict[tuple[str, Level], list[Duty]] = defaultdict(list)
        for duty in effective_duties(territory):
            self.duties[(duty.category, duty.level)].append(duty)
        self.catalogue = _catalogue(territory.categories)

    # --- the hierarchy ---

    def unit(self, code: str) -> Unit | None:
        return self.units.get(code) if isinstance(code, str) else None

    def chain(self, code: Any) -> list[GridUnit]:
        """The unit and its ancestors up to the district, nearest first; [] if unknown."""
        return list(self.chains.get(code, ())) if isinstance(code, str) else []

    def list_units(
        self,
        level: Any = None,
        parent: Any = None,
        limit: Any = 100,
        kind: Any = "basic",
    ) -> list[GridUnit]:
        """Units of a level and/or parent, by code. Exclusive grids only when asked for
        (``kind="exclusive"`` or ``"any"``): the hierarchy is the basic units'."""
        if kind not in ("basic", "exclusive", "any"):
            return []
        try:
            count = min(max(int(limit), 1), MAX_UNITS)
        except (TypeError, ValueError):
            count = 100
        found = self.listing.get((kind, level or None, parent or None), [])
        return found[:count]

    # --- locate ---

    def locate(
        self, lat: Any = None, lon: Any = None, grid_code: Any = None, address: Any = None
    ) -> Location:
        """By point, then by code, then by address: the first that locates wins; otherwise
        why none did."""
        failures: list[Location] = []
        if lat is not None or lon is not None:
            answer = self.locate_point(lat, lon)
            if answer.located:
                return answer
            failures.append(answer)
        if grid_code is not None and grid_code != "":
            answer = self.locate_code(grid_code)
            if answer.located:
                return answer
            failures.append(answer)
        if address is not None and address != "":
            answer = self.locate_address(address)
            if answer.located:
                return answer
            failures.append(answer)
        if not failures:
            return Location(
                located=False,
                reason="no_input",
                detail="give lat and lon, a grid_code or an address",
            )
        if len(failures) == 1:
            return failures[0]
        first = failures[0]
        return first.model_copy(
            update={
                "detail": "; ".join(f.detail for f in failures),
                "candidates": next((f.candidates for f in failures if f.candidates), []),
            }
        )

    def locate_point(self, lat: Any, lon: Any) -> Location:
        point = _coordinates(lat, lon)
        if point is None:
            return Location(
                located=False,
                by="point",
                reason="invalid",
                detail=f"lat {lat!r}, lon {lon!r} is not a point (lat -90..90, lon -180..180)",
            )
        y, x = point
        here = Point(x, y)
        code = self._deepest(here)
        if code is None:
            return Location(
                located=False,
                by="point",
                reason="outside",
                detail=f"lat {y}, lon {x} lies outside every unit of the territory",
            )
        # The hot path: every piece is a validated contract already, so skip validating again.
        return Location.model_construct(
            located=True,
            by="point",
            chain=list(self.chains[code]),
            exclusive=[self.exclusive_refs[c] for c in self.exclusive_locator.covering(here)],
        )

    def _deepest(self, point: Point) -> str | None:
        for level in DEEPEST_FIRST:
            code = self.locators[level].first(point)
            if code is not None:
                return code
        return None

    def locate_code(self, code: Any) -> Location:
        unit = self.unit(code) if isinstance(code, str) else None
        if unit is None:
            return Location(
                located=False, by="code", reason="unknown_code", detail=f"no unit {code!r}"
            )
        return self._located(unit, "code")

    def locate_address(self, address: Any) -> Location:
        if not isinstance(address, str) or not address.strip():
            return Location(
                located=False, by="address", reason="invalid", detail="address must be text"
            )
        match = self.matcher.match(address[:500])
        candidates = [self.views[code] for code in match.candidates]
        if match.code is None:
            return Location(
                located=False,
                by="address",
                reason=match.reason,
                detail=match.detail,
                matched=list(match.matched),
                candidates=candidates,
            )
        located = self._located(self.units[match.code], "address")
        return located.model_copy(
            update={
                "matched": list(match.matched),
                "detail": match.detail,
                "candidates": candidates,
            }
        )

    def _located(self, unit: Unit, by: Literal["code", "address"]) -> Location:
        """A unit found by code or by name. An exclusive grid is answered with the basic chain
        where it lies, and itself among the exclusive grids."""
        if unit.kind != "exclusive":
            return Location(located=True, by=by, chain=list(self.chains[unit.code]))
        chain = list(self.chains[unit.parent]) if unit.parent in self.chains else []
        exclusive = [self.exclusive_refs[unit.code]]
        inside = self.inside.get(unit.code)
        if inside is not None:
            deepest = self._deepest(inside)
            if deepest is not None and unit.parent in {u.code for u in self.chains[deepest]}:
                chain = list(self.chains[deepest])
            others = self.exclusive_locator.covering(inside)
            exclusive += [self.exclusive_refs[c] for c in others if c != unit.code]
        return Location(located=True, by=by, chain=chain, exclusive=exclusive)

    # --- people and departments ---

    def shapes(self, level: str, limit: int = 2000) -> list[dict[str, Any]]:
        """The basic units of a level with their outlines, simplified for drawing (about 10 m):
        ``[{code, name, level, polygons: [[[lon, lat], …], …]}]``."""
        shaped = []
        for unit in self.units.values():
            if unit.level != level or unit.kind != "basic" or unit.geometry is None:
                continue
            outline = unit.geometry.simplify(0.0001, preserve_topology=True)
            parts = getattr(outline, "geoms", [outline])
            polygons = [
                [[round(x, 6), round(y, 6)] for x, y in part.exterior.coords] for part in parts
            ]
            shaped.append({"code": unit.code, "name": unit.name, "level": unit.level,
                           "polygons": polygons})  # fmt: skip
            if len(shaped) >= limit:
                break
        return shaped

    @cached_property
    def outlines(self) -> dict[str, Any]:
        """Every unit's outline as one GeoJSON FeatureCollection (``grid.outlines``): made
        once for the index, since the territory it was built from never changes."""
        return outlines(self.units.values()).model_dump(mode="json")

    def staff(self, code: Any, role: Any = None) -> list[StaffMember]:
        """The people of a unit, in one role or all; [] for an unknown unit or role."""
        if not isinstance(code, str):
            return []
        people = self.staff_by_unit.get(code, [])
        if role is None or role == "":
            return list(people)
        return [person for person in people if person.role == role]

    def departments_for(
        self, category: Any, level: Any = None, unit: Any = None
    ) -> list[DepartmentDuty]:
        """Who handles ``category`` at ``level`` (for ``unit``'s street at street level).

        Leads first, then the category's own lines before its groups'; a level with nobody
        passes the matter up (格呼街应、街呼区应): street, then district. Levels below the
        street have no departments (their people are the grid's), so they ask the street.
        Without a level, the category's own. [] for an unknown category.
        """
        found = self.categories.get(category) if isinstance(category, str) else None
        if found is None:
            return []
        start: Level = level if level in LEVELS else (found.level or "district")
        if DEPTH[start] > DEPTH["street"]:
            start = "street"
        street = self._street_of(unit)
        lineage = self._category_lineage(found.code)
        for current in DEPARTMENT_LEVELS[DEPARTMENT_LEVELS.index(start) :: -1]:
            found_here: dict[str, tuple[int, Duty]] = {}
            for depth, code in enumerate(lineage):
                for duty in self.duties.get((code, current), []):
                    # A department named for the category itself outranks its duty for the
                    # group: keep each department once, at its most specific line.
                    if self._serves(duty, street) and duty.department not in found_here:
                        found_here[duty.department] = (depth, duty)
            if found_here:
                ranked = sorted(
                    found_here.values(),
                    key=lambda pair: (pair[1].role != "lead", pair[0], pair[1].department),
                )
                return [self._duty_view(duty) for _, duty in ranked]
        return []

    def _serves(self, duty: Duty, street: str | None) -> bool:
        department = self.departments.get(duty.department)
        if department is None:
            return False
        if department.level == "street" and street is not None:
            return department.unit == street
        return True

    def _street_of(self, unit: Any) -> str | None:
        if not isinstance(unit, str) or unit not in self.chains:
            return None
        for view in self.chains[unit]:
            if view.level == "street":
                return view.code
        return None

    def _category_lineage(self, code: str) -> list[str]:
        lineage: list[str] = []
        current: str | None = code
        while current is not None and current in self.categories and current not in lineage:
            lineage.append(current)
            current = self.categories[current].parent
        return lineage

    def _duty_view(self, duty: Duty) -> DepartmentDuty:
        department = self.departments[duty.department]
        return DepartmentDuty(
            department=department.code,
            name=department.name,
            level=duty.level,
            unit=department.unit if department.level == "street" else None,
            category=duty.category,
            role=duty.role,
            phone=_masked(department.phone),
            contact=department.contact,
        )

    def category_catalogue(self) -> list[CategoryEntry]:
        return list(self.catalogue)


def _coordinates(lat: Any, lon: Any) -> tuple[float, float] | None:
    values = []
    for value in (lat, lon):
        if isinstance(value, bool) or value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        values.append(number)
    y, x = values
    if not (-90 <= y <= 90 and -180 <= x <= 180):
        return None
    return y, x


def build_index(territory: Territory) -> TerritoryIndex:
    return TerritoryIndex(territory)


__all__: Sequence[str] = ("TerritoryIndex", "build_index", "unit_view")


def _listing(
    units: Sequence[Unit], views: dict[str, GridUnit]
) -> dict[tuple[str, Level | None, str | None], list[GridUnit]]:
    """The units under every (kind or "any", level or None, parent or None) a list asks for."""
    listing: dict[tuple[str, Level | None, str | None], list[GridUnit]] = defaultdict(list)
    for unit in units:
        view = views[unit.code]
        for level in (unit.level, None):
            for parent in (unit.parent, None):
                listing[(unit.kind, level, parent)].append(view)
                listing[("any", level, parent)].append(view)
    return listing


def _exclusive_refs(exclusive: Sequence[Unit]) -> dict[str, ExclusiveGridRef]:
    return {
        unit.code: ExclusiveGridRef(
            code=unit.code,
            name=unit.name,
            type=unit.exclusive_type or "enterprise",
            parent=unit.parent,
        )
        for unit in exclusive
    }


def _staff_by_unit(people: Sequence[Person]) -> dict[str, list[StaffMember]]:
    """Each unit's people in the order of ``STAFF_ROLES``, phones masked."""
    staff: dict[str, list[StaffMember]] = defaultdict(list)
    order = {role: index for index, role in enumerate(STAFF_ROLES)}
    for person in sorted(people, key=lambda p: (p.unit, order.get(p.role, 99), p.person_id)):
        staff[person.unit].append(
            StaffMember(
                person_id=person.person_id,
                unit=person.unit,
                role=person.role,
                name=person.name,
                phone=_masked(person.phone),
                wechat=person.wechat,
            )
        )
    return staff


def _catalogue(categories: Sequence[Category]) -> list[CategoryEntry]:
    return [
        CategoryEntry(
            code=category.code,
            name=category.name,
            parent=category.parent,
            group=category.is_group,
            resolve=category.resolve,
            risk=category.risk,
            department=category.department,
            level=category.level,
            keywords=[word for word, _ in category.keywords],
        )
        for category in sorted(categories, key=lambda c: c.code)
    ]
