"""The territory's outlines for a map: every unit, of every level and kind, as one GeoJSON
FeatureCollection, simplified for drawing and rounded, so that the county's 3,000-odd units
travel in one answer of a few hundred kilobytes."""

from __future__ import annotations

from collections.abc import Iterable

from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from contracts.mapping import MultiPolygon, TerritoryOutlines, UnitFeature, UnitProperties
from services.grid.domain import Unit

TOLERANCE_DEGREES = 0.0001
"""About 10 m: finer than a screen shows a grid, coarse enough to drop needless points."""
DECIMALS = 6
DRAW_ORDER = ("district", "street", "community", "grid", "micro_grid")


def outlines(units: Iterable[Unit]) -> TerritoryOutlines:
    """The units with a geometry, coarser levels first and the exclusive grids last (as a
    map draws them, bottom up), by code within each."""
    drawn = sorted(units, key=lambda u: (u.kind != "basic", DRAW_ORDER.index(u.level), u.code))
    features = [feature(unit, unit.geometry) for unit in drawn if unit.geometry is not None]
    return TerritoryOutlines(features=[f for f in features if f.geometry.coordinates])


def feature(unit: Unit, geometry: BaseGeometry) -> UnitFeature:
    properties = UnitProperties(
        code=unit.code, name=unit.name, level=unit.level, parent=unit.parent, kind=unit.kind,
        exclusive_type=unit.exclusive_type,
    )  # fmt: skip
    return UnitFeature(id=unit.code, properties=properties, geometry=multipolygon(geometry))


def multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    simple = geometry.simplify(TOLERANCE_DEGREES, preserve_topology=True)
    parts = [part for part in getattr(simple, "geoms", [simple]) if isinstance(part, Polygon)]
    return MultiPolygon(coordinates=[polygon(part) for part in parts if not part.is_empty])


def polygon(part: Polygon) -> list[list[tuple[float, float]]]:
    """Its outer ring, then its holes."""
    return [ring(part.exterior.coords), *(ring(hole.coords) for hole in part.interiors)]


def ring(coords: Iterable[tuple[float, ...]]) -> list[tuple[float, float]]:
    return [(round(point[0], DECIMALS), round(point[1], DECIMALS)) for point in coords]
