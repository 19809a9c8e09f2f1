"""Grid's pure rules: the demo county's territory and the even spread of units."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.dispatch.domain import LEVELS
from services.grid.domain import DEMO_SCALE, STREET_NAMES, Unit, demo_county, spread

FAST = settings(max_examples=200, deadline=None, database=None)

CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 14, "micro_grid": 16}
PARENT_LEVEL = {
    "street": "district",
    "community": "street",
    "grid": "community",
    "micro_grid": "grid",
}


@pytest.fixture(scope="module")
def county() -> list[Unit]:
    return list(demo_county())


@pytest.fixture(scope="module")
def by_code(county: list[Unit]) -> dict[str, Unit]:
    return {unit.code: unit for unit in county}


# --- demo_county ---------------------------------------------------------------------------


def test_counts_per_level(county: list[Unit]) -> None:
    counts = Counter(unit.level for unit in county)
    assert counts == {
        "district": 1,
        "street": 10,
        "community": 60,
        "grid": 620,
        "micro_grid": 2407,
    }
    assert len(county) == 3098


def test_scale_constant_matches_the_seed_reports() -> None:
    assert DEMO_SCALE == {"street": 10, "community": 60, "grid": 620, "micro_grid": 2407}


def test_codes_are_unique(county: list[Unit], by_code: dict[str, Unit]) -> None:
    assert len(by_code) == len(county)


def test_the_district_comes_first_and_has_no_parent(county: list[Unit]) -> None:
    district = county[0]
    assert district == Unit("370113", "示范县", "district", None)
    assert [unit for unit in county if unit.parent is None] == [district]


def test_every_parent_exists_one_level_up(county: list[Unit], by_code: dict[str, Unit]) -> None:
    for unit in county[1:]:
        assert unit.parent is not None, unit
        parent = by_code[unit.parent]
        assert parent.level == PARENT_LEVEL[unit.level], unit
        assert LEVELS.index(parent.level) == LEVELS.index(unit.level) + 1


def test_parents_come_before_their_children(county: list[Unit]) -> None:
    seen: set[str] = set()
    for unit in county:
        if unit.parent is not None:
            assert unit.parent in seen, unit
        seen.add(unit.code)


def test_codes_extend_their_parents_code(county: list[Unit]) -> None:
    for unit in county:
        assert len(unit.code) == CODE_LENGTH[unit.level], unit
        assert unit.code.isdigit()
        if unit.parent is not None:
            assert unit.code.startswith(unit.parent)


def test_every_unit_but_the_leaves_has_children(county: list[Unit]) -> None:
    parents = Counter(unit.parent for unit in county if unit.parent)
    for unit in county:
        if unit.level != "micro_grid":
            assert parents[unit.code] > 0, unit


def test_children_are_spread_evenly(county: list[Unit]) -> None:
    levels = {unit.code: unit.level for unit in county}
    children: dict[str, Counter[str]] = {
        level: Counter() for level in ("district", "street", "community", "grid")
    }
    for unit in county:
        if unit.parent is not None:
            children[levels[unit.parent]][unit.parent] += 1
    assert sorted(children["street"].values(), reverse=True) == [6] * 10
    assert set(children["community"].values()) == {10, 11}
    assert sum(children["community"].values()) == 620
    assert set(children["grid"].values()) == {3, 4}
    assert sum(children["grid"].values()) == 2407


def test_deterministic_across_runs(county: list[Unit]) -> None:
    assert list(demo_county()) == county


def test_streets_and_towns(county: list[Unit], by_code: dict[str, Unit]) -> None:
    streets = [unit for unit in county if unit.level == "street"]
    assert [street.name for street in streets] == list(STREET_NAMES)
    assert [street.code for street in streets] == [f"370113{n:03d}" for n in range(1, 11)]
    for unit in county:
        if unit.level == "community":
            assert unit.parent is not None
            town = by_code[unit.parent].name.endswith("镇")
            assert unit.name.endswith("村" if town else "社区"), unit


def test_names_of_grids_and_micro_grids(by_code: dict[str, Unit]) -> None:
    street = by_code["370113001"]
    community = by_code["370113001001"]
    grid = by_code["37011300100101"]
    micro = by_code["3701130010010101"]
    assert street.name == "城关街道"
    assert community.parent == street.code
    assert grid.name == f"{community.name}第1网格"
    assert micro.name == "第1网格1号微网格"
    assert by_code["37011300100102"].name == f"{community.name}第2网格"


def test_another_county_code_and_name() -> None:
    units = list(demo_county("110101", "东城区"))
    assert units[0] == Unit("110101", "东城区", "district", None)
    assert all(unit.code.startswith("110101") for unit in units)
    assert len(units) == 3098


# --- spread --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "buckets", "expected"),
    [
        (10, 3, [4, 3, 3]),
        (60, 10, [6] * 10),
        (0, 3, [0, 0, 0]),
        (2, 5, [1, 1, 0, 0, 0]),
        (7, 1, [7]),
        (620, 60, [11] * 20 + [10] * 40),
    ],
)
def test_spread_examples(total: int, buckets: int, expected: list[int]) -> None:
    assert spread(total, buckets) == expected


@FAST
@given(total=st.integers(min_value=0, max_value=100_000), buckets=st.integers(1, 500))
def test_spread_is_even_and_larger_first(total: int, buckets: int) -> None:
    parts = spread(total, buckets)
    assert len(parts) == buckets
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)
    assert all(part >= 0 for part in parts)
