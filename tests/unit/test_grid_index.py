"""The in-memory index: every answer the grid service gives, on the tiny county and the demo."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from contracts.rpc import Location
from services.grid.index import TerritoryIndex
from tests.unit.grid_support import configured_demo_index, demo, demo_index, tiny_territory


@pytest.fixture(scope="module")
def index() -> TerritoryIndex:
    return TerritoryIndex(tiny_territory())


def codes(location: Location) -> list[str]:
    return [unit.code for unit in location.chain]


# --- locate by point -------------------------------------------------------------------------


def test_a_point_gives_the_full_chain(index: TerritoryIndex) -> None:
    location = index.locate(lat=36.05, lon=116.05)
    assert location.located and location.by == "point"
    assert codes(location) == ["M1", "G1", "C1", "S1", "T"]
    assert [unit.level for unit in location.chain] == [
        "micro_grid",
        "grid",
        "community",
        "street",
        "district",
    ]
    assert location.exclusive == []


def test_a_point_in_a_hole_is_in_the_enclave(index: TerritoryIndex) -> None:
    assert codes(index.locate_point(36.15, 116.05)) == ["M3", "G1", "C1", "S1", "T"]
    assert codes(index.locate_point(36.15, 116.03)) == ["M2", "G1", "C1", "S1", "T"]


def test_a_point_on_a_border_is_answered_the_same_every_time(index: TerritoryIndex) -> None:
    answers = {tuple(codes(index.locate_point(36.1, 116.05))) for _ in range(5)}
    assert answers == {("M1", "G1", "C1", "S1", "T")}
    # on the street border S1 | S2 the micro-grid of S1 is deeper than S2's grid
    assert codes(index.locate_point(36.1, 116.2))[0] == "M4"


def test_where_there_are_no_micro_grids_the_chain_starts_at_the_grid(
    index: TerritoryIndex,
) -> None:
    assert codes(index.locate_point(36.1, 116.3)) == ["G3", "V1", "S2", "T"]


def test_exclusive_grids_containing_the_point(index: TerritoryIndex) -> None:
    location = index.locate_point(36.06, 116.11)
    assert codes(location) == ["M4", "G2", "C1", "S1", "T"]
    assert [(x.code, x.type, x.parent) for x in location.exclusive] == [("X1", "school", "C1")]
    # its own edge counts
    assert [x.code for x in index.locate_point(36.05, 116.08).exclusive] == ["X1"]
    assert index.locate_point(36.04, 116.11).exclusive == []


def test_a_point_outside_every_unit(index: TerritoryIndex) -> None:
    location = index.locate(lat=39.9, lon=116.4)
    assert not location.located
    assert location.reason == "outside" and location.by == "point"
    assert location.chain == [] and location.exclusive == []
    assert "lat 39.9, lon 116.4 lies outside every unit" in location.detail


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(91, 116), (36, 181), ("north", 116), (math.nan, 116), (True, 116), (36.1, None), ([], 1)],
)
def test_a_malformed_point_is_invalid_not_an_error(
    index: TerritoryIndex, lat: Any, lon: Any
) -> None:
    location = index.locate(lat=lat, lon=lon)
    assert not location.located and location.reason == "invalid"


def test_numbers_as_text_are_read(index: TerritoryIndex) -> None:
    assert codes(index.locate(lat="36.05", lon="116.05"))[0] == "M1"


# --- locate by code or address ---------------------------------------------------------------


def test_by_code(index: TerritoryIndex) -> None:
    location = index.locate(grid_code="G2")
    assert location.located and location.by == "code"
    assert codes(location) == ["G2", "C1", "S1", "T"]


def test_an_exclusive_grid_by_code_is_answered_where_it_lies(index: TerritoryIndex) -> None:
    location = index.locate(grid_code="X1")
    assert location.located
    assert codes(location)[-3:] == ["C1", "S1", "T"]
    assert codes(location)[:2] in (["M1", "G1"], ["M4", "G2"])
    assert [x.code for x in location.exclusive] == ["X1"]


@pytest.mark.parametrize("code", ["NOPE", 42, ["G1"]])
def test_an_unknown_code(index: TerritoryIndex, code: Any) -> None:
    location = index.locate(grid_code=code)
    assert not location.located
    assert location.reason == "unknown_code" and location.by == "code"
    assert repr(code) in location.detail


def test_by_address(index: TerritoryIndex) -> None:
    location = index.locate(address="甲街道甲社区第2网格1号微网格")
    assert location.located and location.by == "address"
    assert codes(location) == ["M4", "G2", "C1", "S1", "T"]
    assert location.matched == ["甲街道", "甲社区第2网格", "第2网格1号微网格"]


def test_an_exclusive_grid_by_address(index: TerritoryIndex) -> None:
    location = index.locate(address="育才小学东门")
    assert location.located and [x.code for x in location.exclusive] == ["X1"]
    assert codes(location)[-3:] == ["C1", "S1", "T"]


def test_an_address_matching_nothing(index: TerritoryIndex) -> None:
    location = index.locate(address="火星基地")
    assert not location.located and location.reason == "no_match"
    assert location.by == "address"


def test_an_ambiguous_address_lists_the_candidates() -> None:
    location = demo_index().locate(address="新华社区")
    assert not location.located and location.reason == "ambiguous"
    assert [unit.code for unit in location.candidates] == [
        "370113001001",
        "370113003003",
        "370113005005",
    ]


@pytest.mark.parametrize("address", ["", "   ", 12])
def test_an_empty_or_non_text_address(index: TerritoryIndex, address: Any) -> None:
    location = index.locate(address=address)
    assert not location.located
    assert location.reason in ("invalid", "no_input")


def test_nothing_to_locate_by(index: TerritoryIndex) -> None:
    location = index.locate()
    assert not location.located and location.reason == "no_input"


def test_the_point_wins_then_the_code_then_the_address(index: TerritoryIndex) -> None:
    both = index.locate(lat=36.05, lon=116.05, grid_code="G3", address="乙镇")
    assert both.by == "point" and codes(both)[0] == "M1"
    outside = index.locate(lat=30.0, lon=110.0, grid_code="G3", address="乙镇")
    assert outside.by == "code" and codes(outside)[0] == "G3"
    unknown = index.locate(lat=30.0, lon=110.0, grid_code="ZZ", address="乙镇")
    assert unknown.by == "address" and codes(unknown)[0] == "S2"


def test_when_nothing_locates_every_reason_is_told(index: TerritoryIndex) -> None:
    location = index.locate(lat=30.0, lon=110.0, grid_code="ZZ", address="火星")
    assert not location.located and location.reason == "outside"
    assert "outside every unit" in location.detail
    assert "no unit 'ZZ'" in location.detail
    assert "火星" in location.detail


def test_answers_survive_json(index: TerritoryIndex) -> None:
    dumped = index.locate(lat=36.06, lon=116.11).model_dump(mode="json")
    assert Location.model_validate(dumped) == index.locate(lat=36.06, lon=116.11)
    assert dumped["chain"][0] == {
        "code": "M4",
        "name": "第2网格1号微网格",
        "level": "micro_grid",
        "parent": "G2",
    }


# --- the hierarchy ---------------------------------------------------------------------------


def test_chain(index: TerritoryIndex) -> None:
    assert [u.code for u in index.chain("M3")] == ["M3", "G1", "C1", "S1", "T"]
    assert [u.code for u in index.chain("T")] == ["T"]
    assert index.chain("nope") == [] and index.chain(None) == []


def test_units_by_level_and_parent(index: TerritoryIndex) -> None:
    assert [u.code for u in index.list_units("street")] == ["S1", "S2"]
    assert [u.code for u in index.list_units(parent="G1")] == ["M1", "M2", "M3"]
    assert [u.code for u in index.list_units("grid", "C1")] == ["G1", "G2"]
    assert [u.code for u in index.list_units("grid", "C1", kind="exclusive")] == ["X1"]
    assert [u.code for u in index.list_units("grid", "C1", kind="any")] == ["G1", "G2", "X1"]
    assert [u.code for u in index.list_units(limit=3)] == ["C1", "G1", "G2"]
    assert len(index.list_units(limit=0)) == 1
    assert index.list_units("province") == [] and index.list_units(kind="weird") == []


def test_demo_units() -> None:
    units = demo_index().list_units("street", limit=20)
    assert [u.name for u in units][:2] == ["城关街道", "东城街道"]
    assert len(demo_index().list_units("micro_grid", limit=5000)) == 2407
    assert len(demo_index().list_units("grid", limit=5000)) == 620
    assert len(demo_index().list_units(kind="exclusive", limit=5000)) == 60


# --- people ----------------------------------------------------------------------------------


def test_staff_with_masked_phones(index: TerritoryIndex) -> None:
    people = index.staff("G1")
    assert [(p.role, p.name) for p in people] == [
        ("party_leader", "李强"),
        ("grid_worker", "王芳"),
        ("mediator", "张伟"),
        ("mediator", "刘洋"),
    ]
    assert people[1].phone == "138****1234" and people[1].wechat == "wx1"
    assert people[3].phone is None
    assert all("1234" not in (p.phone or "")[:7] for p in people)


def test_staff_by_role(index: TerritoryIndex) -> None:
    assert [p.name for p in index.staff("G1", "mediator")] == ["张伟", "刘洋"]
    assert index.staff("G1", "police") == []
    assert index.staff("G1", "chef") == []
    assert index.staff("nope") == [] and index.staff(None) == []


def test_every_demo_grid_has_its_four() -> None:
    grid = "37011300100101"
    roles = [p.role for p in demo_index().staff(grid)]
    assert roles[:3] == ["party_leader", "police", "grid_worker"]
    assert roles.count("mediator") == 2 and roles.count("volunteer") == 2


# --- departments -----------------------------------------------------------------------------


def departments(index: TerritoryIndex, *args: Any) -> list[tuple[str, str, str]]:
    return [(d.department, d.category, d.role) for d in index.departments_for(*args)]


def test_the_street_level_department_of_the_units_street(index: TerritoryIndex) -> None:
    # S1's centre covers every dispute through its group; S2's only neighbour disputes
    assert departments(index, "dispute.neighbour", "street", "M1") == [("S1-ZZ", "dispute", "lead")]
    assert departments(index, "dispute.neighbour", "street", "G3") == [
        ("S2-ZZ", "dispute.neighbour", "lead")
    ]
    answer = index.departments_for("dispute.neighbour", "street", "M1")[0]
    assert answer.level == "street" and answer.unit == "S1"
    assert answer.phone == "138****0101"


def test_nobody_at_the_street_passes_the_matter_up(index: TerritoryIndex) -> None:
    # S2 has no duty for family disputes: the district's lead, then its assistants
    assert departments(index, "dispute.family", "street", "G3") == [
        ("D-SFJ", "dispute.family", "lead")
    ]
    assert departments(index, "dispute.neighbour", "district") == [
        ("D-SFJ", "dispute.neighbour", "lead"),
        ("D-GAJ", "dispute.neighbour", "assist"),
    ]


def test_levels_below_the_street_ask_the_street(index: TerritoryIndex) -> None:
    assert departments(index, "dispute.family", "grid", "M1") == [("S1-ZZ", "dispute", "lead")]


def test_without_a_level_the_categorys_own(index: TerritoryIndex) -> None:
    assert departments(index, "order.public") == [("D-GAJ", "order.public", "lead")]


def test_without_a_unit_every_street_that_has_the_duty(index: TerritoryIndex) -> None:
    # the line naming the category itself before the one naming its group
    assert departments(index, "dispute.neighbour", "street") == [
        ("S2-ZZ", "dispute.neighbour", "lead"),
        ("S1-ZZ", "dispute", "lead"),
    ]


def test_an_unknown_category_has_no_department(index: TerritoryIndex) -> None:
    assert index.departments_for("no.such") == []
    assert index.departments_for(None) == []


def test_the_demo_duty_list() -> None:
    index = configured_demo_index()
    answer = index.departments_for("dispute.neighbour", "street", "3701130010010102")
    assert [(d.department, d.name) for d in answer] == [("S-001", "城关街道综治中心")]
    assert [d.department for d in index.departments_for("dispute.land", "street", "370113006")] == [
        "S-006"
    ]
    assert [d.department for d in index.departments_for("environment.pollution")] == ["D-HBJ"]
    assert [(d.department, d.role) for d in index.departments_for("dispute.neighbour")] == [
        ("D-SFJ", "lead"),
        ("D-GAJ", "assist"),
    ]
    catalogue = index.category_catalogue()
    assert len([entry for entry in catalogue if not entry.group]) >= 60


# --- the catalogue ---------------------------------------------------------------------------


def test_the_catalogue(index: TerritoryIndex) -> None:
    entries = {entry.code: entry for entry in index.category_catalogue()}
    assert entries["dispute"].group is True and entries["dispute"].department is None
    neighbour = entries["dispute.neighbour"]
    assert (neighbour.parent, neighbour.resolve, neighbour.risk) == ("dispute", "P5D", "blue")
    assert neighbour.keywords == ["邻居"]


# --- speed -----------------------------------------------------------------------------------


def test_locating_the_demo_county_is_fast_enough() -> None:
    """The bench asks 20,000/s; here a tenth of that, so a busy test machine never flakes."""
    import time

    index = demo_index()
    rng = random.Random(7)
    points = [(rng.uniform(36.4, 36.7), rng.uniform(116.5, 116.9)) for _ in range(2000)]
    started = time.perf_counter()
    located = sum(index.locate_point(lat, lon).located for lat, lon in points)
    rate = len(points) / (time.perf_counter() - started)
    assert located == len(points)  # the county fills its bounding box
    assert rate > 2000, rate
    assert len(demo().units) == 3158
