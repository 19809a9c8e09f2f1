"""Grid's pure rules: the hierarchy (大中小微), people in their roles, departments, the duty list,
the category catalogue, and the demo county at the scale of the seed reports."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from contracts.events import Level
from services.grid.demo import DEMO_BOUNDS, DEMO_SCALE, STREET_NAMES, demo_county, demo_territory
from services.grid.domain import (
    LEVELS,
    Bundle,
    Category,
    Changes,
    Department,
    Duty,
    GridImportError,
    Person,
    Problem,
    Territory,
    Unit,
    ancestors,
    effective_duties,
    merge,
    spread,
)
from services.grid.geo import check_containment
from services.grid.rules import (
    check_categories,
    check_departments,
    check_duties,
    check_people,
    check_references,
    check_units,
    staffing_warnings,
)
from tests.unit.grid_support import demo, tiny_territory, tiny_units

FAST = settings(max_examples=200, deadline=None, database=None)

CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 14, "micro_grid": 16}
PARENT_LEVEL = {
    "street": "district",
    "community": "street",
    "grid": "community",
    "micro_grid": "grid",
}


def messages(problems: list[Problem]) -> str:
    return "\n".join(str(problem) for problem in problems)


# --- hierarchy rules -------------------------------------------------------------------------


def test_the_tiny_territory_is_consistent() -> None:
    territory = tiny_territory()
    assert check_references(territory) == []
    assert check_containment(territory.units, 1.0) == []


def test_codes_must_be_unique() -> None:
    units = [
        *tiny_units(),
        Unit("G1", "又一个网格", "grid", "C1", origin="units.geojson: features[13]"),
    ]
    problems = check_units(units)
    assert len(problems) == 1
    assert "features[13]" in problems[0].where
    assert "G1" in problems[0].message and "already used" in problems[0].message


def test_codes_must_be_well_formed() -> None:
    units = [*tiny_units(), Unit("bad code!", "怪", "micro_grid", "G2")]
    assert "code must be" in messages(check_units(units))


def test_names_must_not_be_empty() -> None:
    units = [*tiny_units(), Unit("M9", " ", "micro_grid", "G2")]
    assert "M9" in messages(check_units(units)) and "name is empty" in messages(check_units(units))


def test_exactly_one_district() -> None:
    two = [*tiny_units(), Unit("T2", "另一县", "district", None)]
    assert "exactly one district" in messages(check_units(two))
    none = [unit for unit in tiny_units() if unit.level != "district"]
    assert "exactly one district" in messages(check_units(none))


def test_a_district_has_no_parent() -> None:
    units = [replace(u, parent="S1") if u.code == "T" else u for u in tiny_units()]
    assert "a district has no parent" in messages(check_units(units))


def test_every_other_unit_needs_a_parent() -> None:
    units = [*tiny_units(), Unit("G9", "孤网格", "grid", None)]
    assert "a grid needs a parent (community)" in messages(check_units(units))


def test_the_parent_must_exist() -> None:
    units = [*tiny_units(), Unit("G9", "孤网格", "grid", "C9")]
    assert "parent C9 is not a unit" in messages(check_units(units))


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        (Unit("M9", "跳级微网格", "micro_grid", "C1"), "a micro_grid's parent must be a grid"),
        (Unit("G9", "跳级网格", "grid", "S1"), "a grid's parent must be a community"),
        (Unit("C9", "跳级社区", "community", "T"), "a community's parent must be a street"),
        (Unit("S9", "倒挂街道", "street", "C1"), "a street's parent must be a district"),
        (Unit("M9", "挂在专属网格下", "micro_grid", "X1"), "X1 is an exclusive grid"),
    ],
)
def test_levels_must_be_consistent(unit: Unit, expected: str) -> None:
    problems = check_units([*tiny_units(), unit])
    assert len(problems) == 1
    assert unit.code in problems[0].where
    assert expected in problems[0].message


def test_unknown_level_is_named() -> None:
    problems = check_units([*tiny_units(), Unit("P9", "省", "province", None)])  # type: ignore[arg-type]
    assert "level 'province' is not one of" in messages(problems)


def test_exclusive_grids_need_a_type_and_a_community_or_street() -> None:
    untyped = Unit("X9", "无类型", "grid", "C1", kind="exclusive")
    assert "exclusive grid needs a type" in messages(check_units([*tiny_units(), untyped]))
    under_grid = Unit("X9", "挂网格下", "grid", "G1", kind="exclusive", exclusive_type="market")
    assert "belongs to a community or a street" in messages(
        check_units([*tiny_units(), under_grid])
    )
    under_street = Unit("X9", "园区", "grid", "S2", kind="exclusive", exclusive_type="enterprise")
    assert check_units([*tiny_units(), under_street]) == []
    wrong_level = Unit("X9", "错级", "community", "C1", kind="exclusive", exclusive_type="hospital")
    assert "an exclusive grid is at level grid" in messages(
        check_units([*tiny_units(), wrong_level])
    )
    basic_typed = Unit("G9", "普通", "grid", "C1", exclusive_type="school")
    assert "only an exclusive grid" in messages(check_units([*tiny_units(), basic_typed]))


# --- people ----------------------------------------------------------------------------------


def units_by_code() -> dict[str, Unit]:
    return {unit.code: unit for unit in tiny_units()}


def test_people_in_the_roles_of_their_unit() -> None:
    people = [
        Person("a", "M1", "party_leader", "甲"),  # a micro-grid has no party-group leader
        Person("b", "G1", "micro_grid_worker", "乙"),  # nor a grid a micro-grid worker
        Person("c", "T", "supervisor", "丙"),  # supervisors anywhere
        Person("d", "X1", "grid_worker", "丁"),  # an exclusive grid has 一格四员 too
    ]
    problems = check_people(people, units_by_code())
    assert len(problems) == 2
    assert "M1" in problems[0].where and "has no party_leader" in problems[0].message
    assert "G1" in problems[1].where and "has no micro_grid_worker" in problems[1].message


def test_people_problems_are_named() -> None:
    people = [
        Person("a", "ZZ", "grid_worker", "甲", origin="people.csv: row 2"),
        Person("b", "G1", "chef", "乙", origin="people.csv: row 3"),  # type: ignore[arg-type]
        Person("c", "G1", "volunteer", " ", origin="people.csv: row 4"),
        Person("d", "G1", "volunteer", "丁", "12345", origin="people.csv: row 5"),
        Person("e", "G1", "volunteer", "戊", "138****1234", origin="stored: masked, fine"),
    ]
    problems = check_people(people, units_by_code())
    text = messages(problems)
    assert "row 2" in text and "unit ZZ is not a unit" in text
    assert "row 3" in text and "role 'chef'" in text
    assert "row 4" in text and "name is empty" in text
    assert "row 5" in text and "not a Chinese mobile" in text
    assert "stored" not in text  # masked: read back from the store, checked when imported


def test_one_party_leader_police_and_grid_worker_per_grid() -> None:
    people = [
        Person("a", "G1", "grid_worker", "甲"),
        Person("b", "G1", "grid_worker", "乙", origin="people.csv: row 3"),
        Person("c", "G1", "mediator", "丙"),
        Person("d", "G1", "mediator", "丁"),  # mediators and volunteers: many
    ]
    problems = check_people(people, units_by_code())
    assert len(problems) == 1
    assert "row 3" in problems[0].where and "already has a grid_worker" in problems[0].message


def test_the_same_person_twice_in_one_role() -> None:
    people = [Person("a", "G1", "mediator", "甲"), Person("a", "G1", "mediator", "甲")]
    assert "listed twice" in messages(check_people(people, units_by_code()))


def test_a_police_liaison_may_serve_several_grids() -> None:
    people = [Person("cop", "G1", "police", "警"), Person("cop", "G2", "police", "警")]
    assert check_people(people, units_by_code()) == []


def test_grids_missing_a_sole_role_are_warned_about() -> None:
    territory = tiny_territory()
    warnings = staffing_warnings(territory.people, territory.units)
    assert [(w.where, w.message) for w in warnings] == [
        ("G1 甲社区第1网格", "no police"),
        ("G2 甲社区第2网格", "no grid_worker, party_leader, police"),
        ("G3 王庄村第1网格", "no grid_worker, party_leader, police"),
    ]


# --- departments, categories, duties ----------------------------------------------------------


def test_departments_rules() -> None:
    departments = [
        Department("S1-ZZ", "甲街道综治中心", "street", unit="S1"),
        Department("S1-ZZ", "重复", "street", unit="S1", origin="departments.yml: departments[1]"),
        Department("S-X", "无街道", "street"),
        Department("S-Y", "错街道", "street", unit="C1"),
        Department("G-1", "网格级部门", "grid"),
        Department("D-1", "", "district", phone="123"),
    ]
    text = messages(check_departments(departments, units_by_code()))
    assert "departments[1]" in text and "listed twice" in text
    assert "S-X" in text and "names its street" in text
    assert "unit C1 is not a street" in text
    assert "level 'grid' must be district or street" in text
    assert "D-1" in text and "name is empty" in text and "not a Chinese mobile" in text


def test_categories_rules() -> None:
    departments = {"D-1": Department("D-1", "局", "district")}
    categories = [
        Category("a", "甲"),
        Category("a.one", "甲一", "a", "D-1", "district", "P5D", "blue"),
        Category("a.one", "重复", "a", "D-1"),
        Category("a.two", "甲二", "nope", "D-9", "county", "5 days", "pink"),  # type: ignore[arg-type]
        Category("loop.x", "环", "loop.y"),
        Category("loop.y", "环", "loop.x"),
        Category("zero", "零", None, "D-1", resolve="PT0S"),
    ]
    text = messages(check_categories(categories, departments))
    assert "(a.one): code a.one is listed twice" in text
    assert "parent nope is not a category" in text
    assert "department D-9 is not known" in text
    assert "level 'county'" in text
    assert "resolve '5 days' is not an ISO 8601 duration" in text
    assert "risk 'pink'" in text
    assert "parents loop back" in text
    assert "resolve 'PT0S'" in text


def test_duties_rules() -> None:
    territory = tiny_territory()
    departments = {d.code: d for d in territory.departments}
    categories = {c.code: c for c in territory.categories}
    duties = [
        Duty("S1-ZZ", "dispute", "street"),
        Duty("S1-ZZ", "dispute", "street", origin="duties.csv: row 3"),
        Duty("D-9", "dispute", "district"),
        Duty("S1-ZZ", "dispute", "district"),
        Duty("D-SFJ", "no.such", "district"),
        Duty("D-SFJ", "dispute", "grid"),
        Duty("D-SFJ", "order.public", "district", "boss"),  # type: ignore[arg-type]
    ]
    text = messages(check_duties(duties, departments, categories))
    assert "row 3" in text and "listed twice" in text
    assert "department D-9 is not known" in text
    assert "a street-level department cannot hold a district-level duty" in text
    assert "category no.such is not in the catalogue" in text
    assert "level 'grid' must be district or street" in text
    assert "role 'boss'" in text


def test_a_district_department_may_hold_a_street_level_duty() -> None:
    territory = tiny_territory()
    departments = {d.code: d for d in territory.departments}
    categories = {c.code: c for c in territory.categories}
    assert check_duties([Duty("D-GAJ", "order.public", "street")], departments, categories) == []


def test_effective_duties_add_each_categorys_own_lead() -> None:
    duties = effective_duties(tiny_territory())
    assert Duty("D-SFJ", "dispute.neighbour", "district", "lead") in duties
    assert Duty("D-GAJ", "order.public", "district", "lead") in duties
    assert Duty("D-GAJ", "dispute.neighbour", "district", "assist") in duties
    assert not any(duty.category == "dispute" and duty.level == "district" for duty in duties)
    # the explicit line stays as it was, never doubled
    assert len(duties) == len(set(duties))


# --- the demo county ---------------------------------------------------------------------------


def basic() -> list[Unit]:
    return [unit for unit in demo().units if unit.kind == "basic"]


def test_counts_per_level() -> None:
    counts = Counter(unit.level for unit in basic())
    assert counts == {"district": 1, "street": 10, "community": 60, "grid": 620, "micro_grid": 2407}


def test_scale_constant_matches_the_seed_reports() -> None:
    assert DEMO_SCALE == {"street": 10, "community": 60, "grid": 620, "micro_grid": 2407}


def test_the_demo_county_is_valid_as_a_whole() -> None:
    territory = demo()
    assert check_units(list(territory.units)) == []
    assert check_people(territory.people, {u.code: u for u in territory.units}) == []
    assert check_containment(territory.units, 0.0) == []
    assert staffing_warnings(territory.people, territory.units) == []


def test_the_district_comes_first_with_its_polygon() -> None:
    district = basic()[0]
    assert (district.code, district.name, district.level, district.parent) == (
        "370113",
        "示范县",
        "district",
        None,
    )
    assert district.geometry is not None
    assert district.geometry.bounds == DEMO_BOUNDS
    centre = district.geometry.centroid
    assert (round(centre.x, 2), round(centre.y, 2)) == (116.7, 36.55)


def test_every_parent_exists_one_level_up_and_comes_first() -> None:
    by_code = {unit.code: unit for unit in basic()}
    seen: set[str] = set()
    for unit in basic():
        if unit.parent is not None:
            assert unit.parent in seen, unit.code
            assert by_code[unit.parent].level == PARENT_LEVEL[unit.level]
            assert LEVELS.index(unit.level) == LEVELS.index(by_code[unit.parent].level) + 1
        seen.add(unit.code)


def test_codes_extend_their_parents_code() -> None:
    for unit in basic():
        assert len(unit.code) == CODE_LENGTH[unit.level], unit.code
        assert unit.code.isdigit()
        if unit.parent is not None:
            assert unit.code.startswith(unit.parent)


def test_children_tile_their_parent_exactly() -> None:
    """No gaps, no overlaps: the children's areas add up to the parent's."""
    units = basic()
    children: dict[str, float] = Counter()
    for unit in units:
        if unit.parent is not None and unit.geometry is not None:
            children[unit.parent] += unit.geometry.area
    for unit in units:
        if unit.level != "micro_grid":
            assert unit.geometry is not None
            assert children[unit.code] == pytest.approx(unit.geometry.area, rel=1e-9), unit.code


def test_children_are_spread_evenly() -> None:
    levels = {unit.code: unit.level for unit in basic()}
    children: dict[str, Counter[str]] = {level: Counter() for level in LEVELS}
    for unit in basic():
        if unit.parent is not None:
            children[levels[unit.parent]][unit.parent] += 1
    assert sorted(children["street"].values()) == [6] * 10
    assert set(children["community"].values()) == {10, 11}
    assert set(children["grid"].values()) == {3, 4}


def test_deterministic_across_runs() -> None:
    again = demo_territory()
    assert again == demo()
    assert [unit.code for unit in demo_county()] == [unit.code for unit in basic()]


def test_streets_towns_and_names() -> None:
    by_code = {unit.code: unit for unit in basic()}
    streets = [unit for unit in basic() if unit.level == "street"]
    assert [street.name for street in streets] == list(STREET_NAMES)
    for unit in basic():
        if unit.level == "community":
            town = by_code[unit.parent or ""].name.endswith("镇")
            assert unit.name.endswith("村" if town else "社区"), unit
    community = by_code["370113001001"]
    assert by_code["37011300100102"].name == f"{community.name}第2网格"
    assert by_code["3701130010010203"].name == "第2网格3号微网格"


def test_one_exclusive_grid_per_community_of_every_kind() -> None:
    exclusive = [unit for unit in demo().units if unit.kind == "exclusive"]
    assert len(exclusive) == 60
    assert Counter(unit.exclusive_type for unit in exclusive) == {
        "school": 12,
        "hospital": 12,
        "market": 12,
        "enterprise": 12,
        "construction_site": 12,
    }
    by_code = {unit.code: unit for unit in demo().units}
    for unit in exclusive:
        assert unit.level == "grid" and unit.name.endswith("专属网格")
        assert by_code[unit.parent or ""].level == "community"
        assert unit.aliases and unit.aliases[0] in unit.name


def test_exclusive_grids_overlay_several_basic_grids() -> None:
    exclusive = next(unit for unit in demo().units if unit.kind == "exclusive")
    assert exclusive.geometry is not None
    overlapped = [
        unit.code
        for unit in basic()
        if unit.level == "micro_grid"
        and unit.geometry is not None
        and unit.geometry.intersection(exclusive.geometry).area > 0
    ]
    assert len(overlapped) >= 2


def test_people_for_every_grid() -> None:
    territory = demo()
    roles = Counter(person.role for person in territory.people)
    assert roles == {
        "supervisor": 71,
        "party_leader": 680,
        "police": 680,
        "grid_worker": 680,
        "mediator": 1240,
        "volunteer": 1240,
        "micro_grid_worker": 2407,
    }
    assert all(person.phone and len(person.phone) == 11 for person in territory.people)
    # one community police officer serves all the grids of the community
    officers = {p.person_id for p in territory.people if p.role == "police"}
    assert len(officers) == 60


def test_another_county_code_and_name() -> None:
    units = list(demo_county("110101", "东城区"))
    assert (units[0].code, units[0].name) == ("110101", "东城区")
    assert all(unit.code.startswith("110101") for unit in units)
    assert len(units) == 3098


def test_demo_polygons_lie_within_the_county_bounds() -> None:
    west, south, east, north = DEMO_BOUNDS
    outline = box(west, south, east, north)
    for unit in demo().units:
        assert unit.geometry is not None
        assert outline.covers(unit.geometry)


def test_empty_territory_has_no_problems() -> None:
    assert check_references(Territory()) == []


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


# --- an import, as values --------------------------------------------------------------------


def test_the_parts_of_a_bundle_are_the_ones_it_brings() -> None:
    assert Bundle().parts == []
    assert Bundle(units=[], people=[]).parts == ["units", "people"]
    # departments come with their inline duties: the duty list is replaced with them
    assert Bundle(departments=[]).parts == ["departments", "duties"]
    assert Bundle(duties=[], categories=[]).parts == ["duties", "categories"]


def test_merge_keeps_the_parts_a_bundle_leaves_out() -> None:
    current = tiny_territory()
    units = [replace(u, name="改名") for u in current.units]
    merged = merge(current, Bundle(units=units))
    assert merged.units == tuple(units)
    assert (merged.people, merged.departments, merged.duties, merged.categories) == (
        current.people,
        current.departments,
        current.duties,
        current.categories,
    )


def test_merge_gives_a_duty_without_a_level_its_departments() -> None:
    current = tiny_territory()
    departments = [Department("S1-ZZ", "甲街道综治中心", "street", unit="S1")]
    inline = [Duty("S1-ZZ", "dispute", cast(Level, ""))]
    unknown = Duty("X-000", "dispute", cast(Level, ""))
    merged = merge(current, Bundle(departments=departments, inline_duties=inline, duties=[unknown]))
    assert merged.departments == tuple(departments)
    # a duty of an unknown department keeps its empty level, for the rules to refuse
    assert merged.duties == (Duty("S1-ZZ", "dispute", "street"), unknown)


def test_changes_say_whether_anything_changed() -> None:
    assert not Changes().any
    assert Changes(units={"G1"}).any
    assert Changes(staff_units={"G1"}).any
    assert Changes(responsibilities=True).any


def test_an_import_error_shows_fifty_problems_and_counts_the_rest() -> None:
    problems = [Problem(f"row {n}", "bad") for n in range(53)]
    message = str(GridImportError(problems))
    assert message.startswith("53 problem(s):\n  row 0: bad\n")
    assert "row 49: bad" in message and "row 50" not in message
    assert message.endswith("… and 3 more")
    assert str(GridImportError(problems[:2])) == "2 problem(s):\n  row 0: bad\n  row 1: bad"


def test_ancestors_stop_at_an_unknown_code_or_a_loop() -> None:
    parents: dict[str, str | None] = {"M1": "G1", "G1": "C1", "C1": None, "A": "B", "B": "A"}
    assert ancestors("M1", parents) == ["M1", "G1", "C1"]
    assert ancestors("X", parents) == []
    assert ancestors("A", parents) == ["A", "B"]
    assert ancestors("M1", {"M1": "G9"}) == ["M1"]
