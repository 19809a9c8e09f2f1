"""网格地图 behind the console: the outlines of every level in one GeoJSON answer (grid), the
base tiles from the settings, the open cases within the user's reach, a unit's panel."""

from __future__ import annotations

import json
from typing import Any

import pytest
from shapely.geometry import Polygon, box

from contracts.mapping import MapTerritory, TerritoryOutlines, UnitPanel
from kit.settings import ConfigError, Settings
from services.console import domain, territory_map
from services.console.config import MapTiles, load_map_tiles
from services.console.refusals import NotFound
from services.grid.demo import demo_territory
from services.grid.domain import Unit
from services.grid.index import TerritoryIndex
from services.grid.outlines import outlines
from tests.support.fake_console import FakeDispatch, FakeGrid

ADMIN = domain.Principal("admin", "admin", 0)
STREET = domain.Principal("street", "supervisor", 0, "S-001")
TIANDITU = ("https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
            "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
            "&TILECOL={x}&tk=KEY")  # fmt: skip


# --- grid: the outlines ---


def test_the_demo_county_is_one_collection_of_every_level_and_kind() -> None:
    collection = TerritoryIndex(demo_territory()).outlines
    TerritoryOutlines.model_validate(collection)  # the contract, GeoJSON-shaped
    features = collection["features"]
    levels = [f["properties"]["level"] for f in features if f["properties"]["kind"] == "basic"]
    assert {level: levels.count(level) for level in set(levels)} == {
        "district": 1, "street": 10, "community": 60, "grid": 620, "micro_grid": 2407,
    }  # fmt: skip
    assert sum(f["properties"]["kind"] == "exclusive" for f in features) == 60
    assert levels[:11] == ["district"] + ["street"] * 10  # drawn bottom up: coarse first
    assert features[-1]["properties"]["kind"] == "exclusive"  # the exclusive grids on top
    assert len(json.dumps(collection, separators=(",", ":"))) < 2_000_000


def test_an_outline_is_simplified_rounded_and_keeps_its_holes() -> None:
    ring = [(116.1234567891, 36.0), (116.2, 36.0000000004), (116.2, 36.1), (116.1, 36.1)]
    wiggle = [(116.15, 36.05), (116.1500001, 36.06), (116.16, 36.06), (116.16, 36.05)]
    unit = Unit("G-1", "第1网格", "grid", "C-1", Polygon(ring, [wiggle]))
    bare = Unit("G-2", "无边界网格", "grid", "C-1", None)
    [feature] = outlines([unit, bare]).model_dump(mode="json")["features"]
    assert feature["id"] == "G-1" and feature["properties"]["parent"] == "C-1"
    [[outer, hole]] = feature["geometry"]["coordinates"]
    assert [116.123457, 36.0] in outer  # six decimals
    assert len(hole) == 5  # a hole stays a hole, its closing point included


# --- console: tiles, markers, a unit's panel ---


def test_no_tiles_unless_configured_and_then_with_whom_they_come_from() -> None:
    settings = Settings(env="dev")
    assert load_map_tiles(settings, {}) is None
    tiles = load_map_tiles(settings, {
        "CIVICFLOW_MAP_TILES": TIANDITU, "CIVICFLOW_MAP_ATTRIBUTION": "天地图",
        "CIVICFLOW_MAP_SUBDOMAINS": "01234567",
    })  # fmt: skip
    assert tiles == MapTiles(TIANDITU, "天地图", "01234567", 18)
    grid = FakeGrid()
    assert territory_map.territory(grid, None)["tiles"] is None
    answer = territory_map.territory(grid, tiles)
    MapTerritory.model_validate(answer)
    assert answer["type"] == "FeatureCollection"
    assert answer["tiles"] == {"url": TIANDITU, "attribution": "天地图",
                               "subdomains": "01234567", "max_zoom": 18}  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "names"),
    [
        ({"CIVICFLOW_MAP_TILES": "https://tiles.example/{z}/{x}.png"}, "CIVICFLOW_MAP_TILES"),
        ({"CIVICFLOW_MAP_TILES": "ftp://t/{z}/{x}/{y}.png", "CIVICFLOW_MAP_ATTRIBUTION": "本地"},
         "CIVICFLOW_MAP_TILES"),
        ({"CIVICFLOW_MAP_TILES": "https://t/{z}/{x}/{y}.png"}, "CIVICFLOW_MAP_ATTRIBUTION"),
        ({"CIVICFLOW_MAP_TILES": TIANDITU, "CIVICFLOW_MAP_ATTRIBUTION": "天地图"},
         "CIVICFLOW_MAP_SUBDOMAINS"),
        ({"CIVICFLOW_MAP_TILES": "/tiles/{z}/{x}/{y}.png", "CIVICFLOW_MAP_ATTRIBUTION": "本地",
          "CIVICFLOW_MAP_MAX_ZOOM": "many"}, "CIVICFLOW_MAP_MAX_ZOOM"),
    ],
)  # fmt: skip
def test_tiles_configured_wrong_refuse_the_start_naming_the_setting(
    environ: dict[str, str], names: str
) -> None:
    with pytest.raises(ConfigError, match=names):
        load_map_tiles(Settings(env="dev"), environ)


def marker(case_id: str, lat: float | None = 36.5, **extra: Any) -> dict[str, Any]:
    return {"case_id": case_id, "lat": lat, "lon": 116.7 if lat is not None else None,
            "risk": "red", "status": "dispatched", "overdue": False,
            "received_at": "2026-11-21T09:00:00+08:00", **extra}  # fmt: skip


def test_markers_are_the_open_cases_with_a_place_within_reach() -> None:
    dispatch = FakeDispatch()
    dispatch.open = [marker("C-1"), marker("C-2", lat=None)]
    assert [c["case_id"] for c in territory_map.case_markers(dispatch, STREET)["items"]] == ["C-1"]
    territory_map.case_markers(dispatch, ADMIN)
    assert dispatch.asked_open == [(["S-001"], None, True, 5000), (None, None, True, 5000)]


def county_grid() -> FakeGrid:
    grid = FakeGrid()
    grid.units_by_code = {
        "G-1": {"code": "G-1", "name": "幸福社区第1网格", "level": "grid", "parent": "C-1"},
        "C-1": {"code": "C-1", "name": "幸福社区", "level": "community", "parent": None},
    }
    grid.people = {"G-1": [
        {"person_id": "p1", "unit": "G-1", "role": "grid_worker", "name": "王伟",
         "phone": "139****0001"},
        {"person_id": "p2", "unit": "G-1", "role": "party_leader", "name": "李娜", "phone": None},
    ]}  # fmt: skip
    return grid


def test_a_units_panel_has_its_people_masked_and_its_open_and_overdue_cases() -> None:
    dispatch = FakeDispatch()
    dispatch.open = [marker("C-1"), marker("C-2", overdue=True), marker("C-3", lat=None)]
    panel = territory_map.unit_panel(dispatch, county_grid(), STREET, "G-1")
    UnitPanel.model_validate(panel)  # what the OpenAPI document says it answers
    assert panel["unit"]["name"] == "幸福社区第1网格"
    assert [u["code"] for u in panel["chain"]] == ["G-1", "C-1"]
    assert [p["name"] for p in panel["people"]] == ["王伟", "李娜"]
    assert panel["phones"] == "masked" and panel["people"][0]["phone"] == "139****0001"
    assert [c["case_id"] for c in panel["open_cases"]] == ["C-1", "C-2", "C-3"]
    assert [c["case_id"] for c in panel["overdue_cases"]] == ["C-2"]
    assert dispatch.asked_open == [(["S-001"], "G-1", False, territory_map.PANEL_CASES)]


def test_a_unit_that_does_not_exist_has_no_panel() -> None:
    dispatch = FakeDispatch()
    with pytest.raises(NotFound):
        territory_map.unit_panel(dispatch, county_grid(), ADMIN, "G-404")
    assert dispatch.asked_open == []


def test_a_square_unit_is_drawn_from_its_own_corners() -> None:
    unit = Unit("S-1", "城关街道", "street", "D-1", box(116.5, 36.4, 116.6, 36.5))
    [feature] = outlines([unit]).features
    corners = {tuple(point) for point in feature.geometry.coordinates[0][0]}
    assert corners == {(116.5, 36.4), (116.6, 36.4), (116.6, 36.5), (116.5, 36.5)}
