"""Polygons: read from GeoJSON with every check a county's own file needs, kept inside their
parents, and searched by point.

Coordinates are GeoJSON's: ``[lon, lat]`` in degrees (WGS 84 / GCJ-02 alike: the platform never
mixes sources, so it never converts). Distances in messages are approximate metres.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from shapely import STRtree
from shapely.geometry import MultiPolygon, Point, Polygon, mapping
from shapely.geometry.base import BaseGeometry

from services.grid.domain import Problem, Unit

METRES_PER_DEGREE = 111_320.0
DEFAULT_TOLERANCE_M = 1.0
"""How far a child may stick out of its parent: surveyed borders rarely agree to the metre."""


def metres(degrees: float) -> float:
    return degrees * METRES_PER_DEGREE


def geometry_from_geojson(value: Any, where: str) -> tuple[BaseGeometry | None, list[Problem]]:
    """A (Multi)Polygon from a GeoJSON geometry, or the problems that stop it: wrong type,
    rings too short or not closed, coordinates out of range, self-intersections, holes
    outside their shell."""
    if not isinstance(value, Mapping):
        return None, [Problem(where, "geometry is missing (a Polygon or MultiPolygon is needed)")]
    kind = value.get("type")
    coordinates = value.get("coordinates")
    if kind == "Polygon":
        polygons = [coordinates]
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            return None, [Problem(where, "MultiPolygon coordinates must be a non-empty list")]
        polygons = coordinates
    else:
        return None, [Problem(where, f"geometry type {kind!r} is not Polygon or MultiPolygon")]
    problems: list[Problem] = []
    shapes: list[Polygon] = []
    for p, rings in enumerate(polygons):
        label = f"{where}: polygon {p}" if kind == "MultiPolygon" else where
        checked, wrong = _rings(rings, label)
        if wrong:
            problems.extend(wrong)
            continue
        shell, *holes = checked
        shapes.append(Polygon(shell, holes))
    if problems:
        return None, problems
    geometry: BaseGeometry = shapes[0] if kind == "Polygon" else MultiPolygon(shapes)
    reason = shapely.is_valid_reason(geometry)
    if reason != "Valid Geometry":
        return None, [Problem(where, f"invalid polygon: {_explain(reason)}")]
    if geometry.area <= 0:
        return None, [Problem(where, "polygon has no area")]
    return geometry, []


def _rings(rings: Any, where: str) -> tuple[list[list[tuple[float, float]]], list[Problem]]:
    """The rings as lists of (lon, lat), and the problems found in them."""
    if not isinstance(rings, list) or not rings:
        return [], [Problem(where, "a polygon needs at least its outer ring")]
    problems: list[Problem] = []
    good: list[list[tuple[float, float]]] = []
    for r, ring in enumerate(rings):
        name = "outer ring" if r == 0 else f"ring {r} (a hole)"
        if not isinstance(ring, list) or len(ring) < 4:
            count = len(ring) if isinstance(ring, list) else 0
            problems.append(
                Problem(where, f"{name} has {count} positions; a closed ring needs at least 4")
            )
            continue
        positions: list[tuple[float, float]] = []
        for i, position in enumerate(ring):
            point = _position(position)
            if point is None:
                problems.append(
                    Problem(where, f"{name}, position {i}: {position!r} is not [lon, lat]")
                )
                break
            positions.append(point)
        else:
            if positions[0] != positions[-1]:
                problems.append(
                    Problem(
                        where,
                        f"{name} is not closed: it starts at {list(positions[0])} "
                        f"but ends at {list(positions[-1])}",
                    )
                )
            else:
                good.append(positions)
    return good, problems


def _position(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        return None
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in value):
        return None
    lon, lat = float(value[0]), float(value[1])
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return lon, lat


def _explain(reason: str) -> str:
    """GEOS says ``Self-intersection[116.7 36.5]``; say it with lon/lat named."""
    head, _, rest = reason.partition("[")
    if not rest:
        return head.lower()
    x, _, y = rest.rstrip("]").partition(" ")
    return f"{head.lower()} at lon {x}, lat {y}"


def geometry_to_geojson(geometry: BaseGeometry) -> dict[str, Any]:
    """GeoJSON with lists, not tuples, so it prints and compares like the input."""

    def listed(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [listed(item) for item in value]
        return value

    shape = mapping(geometry)
    return {"type": shape["type"], "coordinates": listed(shape["coordinates"])}


def check_containment(units: Sequence[Unit], tolerance_m: float) -> list[Problem]:
    """Every child inside its parent, give or take ``tolerance_m``; each offender named with
    how far it sticks out."""
    by_code = {unit.code: unit for unit in units}
    pairs = [
        (unit, by_code[unit.parent])
        for unit in units
        if unit.geometry is not None
        and unit.parent in by_code
        and by_code[unit.parent].geometry is not None
    ]
    if not pairs:
        return []
    children = np.array([child.geometry for child, _ in pairs], dtype=object)
    parents = np.array([parent.geometry for _, parent in pairs], dtype=object)
    inside = shapely.covers(parents, children)
    tolerance = tolerance_m / METRES_PER_DEGREE
    problems = []
    for (child, parent), ok in zip(pairs, inside, strict=True):
        if ok:
            continue
        assert child.geometry is not None and parent.geometry is not None
        if tolerance > 0 and parent.geometry.buffer(tolerance).covers(child.geometry):
            continue
        problems.append(
            Problem(
                child.label,
                f"not inside its parent {parent.code} {parent.name}: sticks out by up to "
                f"~{metres(_overhang(child.geometry, parent.geometry)):.0f} m "
                f"(tolerance {tolerance_m:g} m)",
            )
        )
    return problems


def _overhang(child: BaseGeometry, parent: BaseGeometry) -> float:
    """How far (degrees) the farthest corner of the child's outside part is from the parent."""
    outside = child.difference(parent)
    coordinates = shapely.get_coordinates(outside)
    if len(coordinates) == 0:
        return 0.0
    distances = shapely.distance(parent, shapely.points(coordinates))
    return float(np.max(distances))


class PointLocator:
    """Which polygons cover a point, through an STRtree of prepared polygons.

    A point on a shared border is covered by both neighbours; callers take the first in code
    order, so the answer is the same on every run and every instance.
    """

    def __init__(self, entries: Sequence[tuple[str, BaseGeometry]]) -> None:
        ordered = sorted(entries, key=lambda entry: entry[0])
        self.codes = [code for code, _ in ordered]
        self.geometries = np.array([geometry for _, geometry in ordered], dtype=object)
        shapely.prepare(self.geometries)
        self.tree = STRtree(self.geometries) if ordered else None

    def __len__(self) -> int:
        return len(self.codes)

    def covering(self, point: Point) -> list[str]:
        """Codes of the polygons covering the point (inside or on the boundary), in order."""
        if self.tree is None:
            return []
        hits = self.tree.query(point, predicate="intersects")
        return [self.codes[index] for index in sorted(hits.tolist())]

    def first(self, point: Point) -> str | None:
        """The lowest code among the polygons covering the point."""
        if self.tree is None:
            return None
        hits = self.tree.query(point, predicate="intersects")
        if len(hits) == 0:
            return None
        return self.codes[int(hits.min())]
