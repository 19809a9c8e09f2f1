"""Polygons from GeoJSON, children inside parents, and points at borders and in holes."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import MultiPolygon, Point, Polygon, box

from services.grid.domain import Unit
from services.grid.geo import (
    PointLocator,
    check_containment,
    geometry_from_geojson,
    geometry_to_geojson,
)
from tests.unit.grid_support import HOLE, polygon, ring, tiny_units


def parsed(geometry: Any) -> tuple[Any, str]:
    shape, problems = geometry_from_geojson(geometry, "units.geojson: features[7] (G1 甲)")
    return shape, "\n".join(str(problem) for problem in problems)


# --- reading GeoJSON geometry ------------------------------------------------------------------


def test_a_polygon_with_a_hole() -> None:
    shape, problems = parsed(polygon(ring(116.0, 36.1, 116.1, 36.2), HOLE))
    assert problems == ""
    assert isinstance(shape, Polygon)
    assert len(shape.interiors) == 1


def test_a_multipolygon() -> None:
    geometry = {
        "type": "MultiPolygon",
        "coordinates": [[ring(116.0, 36.0, 116.1, 36.1)], [ring(116.2, 36.0, 116.3, 36.1)]],
    }
    shape, problems = parsed(geometry)
    assert problems == ""
    assert isinstance(shape, MultiPolygon) and len(shape.geoms) == 2


def test_round_trip_through_geojson() -> None:
    shape = Polygon(ring(116.0, 36.1, 116.1, 36.2), [HOLE])
    again, problems = parsed(geometry_to_geojson(shape))
    assert problems == "" and again == shape


@pytest.mark.parametrize(
    ("geometry", "expected"),
    [
        (None, "geometry is missing"),
        ({"type": "Point", "coordinates": [116.0, 36.0]}, "'Point' is not Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": []}, "at least its outer ring"),
        ({"type": "MultiPolygon", "coordinates": []}, "non-empty list"),
        (
            polygon([[116.0, 36.0], [116.1, 36.0], [116.0, 36.0]]),
            "outer ring has 3 positions; a closed ring needs at least 4",
        ),
        (
            polygon([[116.0, 36.0], [116.1, 36.0], [116.1, 36.1], [116.0, 36.1]]),
            "outer ring is not closed: it starts at [116.0, 36.0] but ends at [116.0, 36.1]",
        ),
        (
            polygon(ring(116.0, 36.0, 116.1, 36.1), ring(116.04, 36.04, 116.05, 36.05)[:-1]),
            "ring 1 (a hole) is not closed",
        ),
        (
            polygon([[116.0, 36.0], [116.1, 36.0], ["x", 36.1], [116.0, 36.0]]),
            "outer ring, position 2: ['x', 36.1] is not [lon, lat]",
        ),
        (
            polygon([[116.0, 36.0], [216.1, 36.0], [116.1, 36.1], [116.0, 36.0]]),
            "position 1: [216.1, 36.0] is not [lon, lat]",
        ),
        (
            polygon([[116.0, 36.0], [116.1, 36.0], [116.1, True], [116.0, 36.0]]),
            "position 2",
        ),
        (
            # a bow tie: the edges cross at (116.05, 36.05)
            polygon([[116.0, 36.0], [116.1, 36.1], [116.1, 36.0], [116.0, 36.1], [116.0, 36.0]]),
            "invalid polygon: self-intersection at lon 116.05, lat 36.05",
        ),
        (
            polygon(ring(116.0, 36.0, 116.1, 36.1), ring(116.2, 36.2, 116.3, 36.3)),
            "invalid polygon: hole lies outside shell",
        ),
        (
            polygon([[116.0, 36.0], [116.1, 36.0], [116.2, 36.0], [116.0, 36.0]]),
            "invalid polygon",
        ),
    ],
)
def test_bad_geometry_is_refused_naming_the_feature(geometry: Any, expected: str) -> None:
    shape, problems = parsed(geometry)
    assert shape is None
    assert "features[7] (G1 甲)" in problems
    assert expected in problems


def test_each_polygon_of_a_multipolygon_is_named() -> None:
    geometry = {
        "type": "MultiPolygon",
        "coordinates": [[ring(116.0, 36.0, 116.1, 36.1)], [[[116.2, 36.0], [116.3, 36.0]]]],
    }
    _, problems = parsed(geometry)
    assert "polygon 1: outer ring has 2 positions" in problems


# --- children inside parents ---------------------------------------------------------------


def test_children_inside_their_parents() -> None:
    assert check_containment(tiny_units(), 0.0) == []


def test_a_child_sticking_out_is_named_with_how_far() -> None:
    units = [
        *tiny_units(),
        Unit(
            "M9",
            "出界微网格",
            "micro_grid",
            "G2",
            box(116.15, 36.1, 116.21, 36.2),
            origin="units.geojson: features[20]",
        ),
    ]
    problems = check_containment(units, 1.0)
    assert len(problems) == 1
    assert problems[0].where == "units.geojson: features[20] (M9 出界微网格)"
    # 0.01° of longitude past the parent's edge: ~1113 m by the degree
    message = problems[0].message
    assert "not inside its parent G2 甲社区第2网格: sticks out by up to ~1113 m" in message


def test_a_sliver_within_the_tolerance_passes() -> None:
    sliver = 0.5 / 111_320  # half a metre
    child = Unit("M9", "贴边", "micro_grid", "G2", box(116.1, 36.0, 116.2 + sliver, 36.2))
    assert check_containment([*tiny_units(), child], 1.0) == []
    assert len(check_containment([*tiny_units(), child], 0.1)) == 1


def test_an_exclusive_grid_must_lie_inside_its_community() -> None:
    outside = Unit(
        "X9",
        "越界工地",
        "grid",
        "V1",
        box(116.15, 36.0, 116.25, 36.1),
        kind="exclusive",
        exclusive_type="construction_site",
    )
    problems = check_containment([*tiny_units(), outside], 1.0)
    assert [p.where for p in problems] == ["X9 越界工地"]


def test_units_without_polygons_are_not_compared() -> None:
    units = [*tiny_units(), Unit("M9", "无图形", "micro_grid", "G2")]
    assert check_containment(units, 0.0) == []


# --- points ------------------------------------------------------------------------------------


@pytest.fixture
def micro() -> PointLocator:
    return PointLocator(
        [(u.code, u.geometry) for u in tiny_units() if u.level == "micro_grid" and u.geometry]
    )


def test_a_point_inside(micro: PointLocator) -> None:
    assert micro.first(Point(116.05, 36.05)) == "M1"
    assert micro.covering(Point(116.15, 36.15)) == ["M4"]


def test_a_point_in_a_hole_belongs_to_the_enclave(micro: PointLocator) -> None:
    assert micro.covering(Point(116.05, 36.15)) == ["M3"]


def test_just_outside_the_hole_belongs_to_the_ring(micro: PointLocator) -> None:
    assert micro.covering(Point(116.035, 36.15)) == ["M2"]


def test_a_point_on_the_hole_boundary_is_covered_by_both(micro: PointLocator) -> None:
    assert micro.covering(Point(116.04, 36.15)) == ["M2", "M3"]
    assert micro.first(Point(116.04, 36.15)) == "M2"


def test_a_point_on_a_shared_border_goes_to_the_lowest_code(micro: PointLocator) -> None:
    # the border between M1 (south) and M2 (north) of G1, and between G1's and G2's micros
    assert micro.covering(Point(116.05, 36.1)) == ["M1", "M2"]
    assert micro.first(Point(116.05, 36.1)) == "M1"
    assert micro.first(Point(116.1, 36.05)) == "M1"  # M1 | M4
    assert micro.first(Point(116.1, 36.1)) == "M1"  # the corner of M1, M2 and M4


def test_a_point_on_the_outer_edge_is_inside(micro: PointLocator) -> None:
    assert micro.first(Point(116.0, 36.05)) == "M1"


def test_a_point_outside_every_polygon(micro: PointLocator) -> None:
    assert micro.first(Point(116.3, 36.1)) is None  # in G3, which has no micro-grids
    assert micro.covering(Point(100.0, 10.0)) == []


def test_an_empty_locator() -> None:
    empty = PointLocator([])
    assert len(empty) == 0
    assert empty.first(Point(116.0, 36.0)) is None
    assert empty.covering(Point(116.0, 36.0)) == []
