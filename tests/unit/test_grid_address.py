"""Addresses matched by the units' own names and aliases."""

from __future__ import annotations

import pytest

from services.grid.address import AddressMatcher, chinese_number, normalise, stripped
from services.grid.domain import Unit
from tests.unit.grid_support import demo, tiny_units


@pytest.fixture(scope="module")
def county() -> AddressMatcher:
    return AddressMatcher(demo().units)


@pytest.fixture(scope="module")
def tiny() -> AddressMatcher:
    return AddressMatcher(tiny_units())


@pytest.mark.parametrize(
    ("text", "number"),
    [("一", 1), ("九", 9), ("十", 10), ("十二", 12), ("二十", 20), ("三十五", 35), ("一二", 12)],
)
def test_chinese_numbers(text: str, number: int) -> None:
    assert chinese_number(text) == number


@pytest.mark.parametrize("text", ["", "十十", "百", "二十三十"])
def test_not_chinese_numbers(text: str) -> None:
    assert chinese_number(text) is None


def test_normalise() -> None:
    assert normalise(" 城关街道 新华社区 第三网格 ") == "城关街道新华社区第3网格"
    assert normalise("第十一网格二号微网格") == "第11网格2号微网格"
    assert normalise("第１２网格") == "第12网格"  # full-width digits
    assert normalise("三里河") == "三里河"  # numerals elsewhere stay


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("城关街道", "城关"),
        ("文昌镇", "文昌"),
        ("新华社区", "新华"),
        ("王庄村", "王庄"),
        ("育才小学专属网格", "育才小学"),
        ("东村", None),  # one character would match far too much
        ("新华社区第1网格", None),
    ],
)
def test_stripped(name: str, short: str | None) -> None:
    assert stripped(name) == short


def test_the_full_chain_by_name(county: AddressMatcher) -> None:
    match = county.match("山东省示范县城关街道新华社区第1网格2号微网格3号楼")
    assert match.code == "3701130010010102"
    assert match.matched == ("示范县", "城关街道", "新华社区第1网格", "第1网格2号微网格")
    assert match.reason is None


def test_short_names_and_chinese_numerals(county: AddressMatcher) -> None:
    match = county.match("城关新华第三网格")
    assert match.code == "37011300100103"
    assert match.matched == ("城关", "新华", "第3网格")


def test_a_village_of_a_town(county: AddressMatcher) -> None:
    town = next(u for u in demo().units if u.name == "马山镇")
    village = next(u for u in demo().units if u.parent == town.code and u.level == "community")
    match = county.match(f"马山镇{village.name}村委会东侧")
    assert match.code == village.code


def test_a_street_alone(county: AddressMatcher) -> None:
    assert county.match("文昌镇政府门口").code == "370113006"


def test_the_same_community_name_in_three_streets_is_ambiguous(county: AddressMatcher) -> None:
    match = county.match("新华社区")
    assert match.code is None
    assert match.reason == "ambiguous"
    assert match.candidates == ("370113001001", "370113003003", "370113005005")
    assert "name the street or community too" in match.detail


def test_naming_the_street_settles_it(county: AddressMatcher) -> None:
    # 东城街道 has no 新华社区: the street and the three communities pull apart
    assert county.match("东城街道新华社区").reason == "ambiguous"
    assert county.match("西城街道新华社区").code == "370113003003"


def test_ambiguity_below_a_named_unit_locates_at_it(county: AddressMatcher) -> None:
    match = county.match("城关街道第1网格")
    assert match.code == "370113001"
    assert len(match.candidates) == 6
    assert "6 units below 城关街道" in match.detail


def test_a_bare_grid_number_is_ambiguous(county: AddressMatcher) -> None:
    match = county.match("第1网格")
    assert match.code is None and match.reason == "ambiguous"
    assert len(match.candidates) == 10  # shown; 620 match


def test_nothing_matches(county: AddressMatcher) -> None:
    match = county.match("北京市朝阳区")
    assert match.code is None and match.reason == "no_match"
    assert "北京市朝阳区" in match.detail


def test_a_road_named_like_a_community_is_a_road(county: AddressMatcher) -> None:
    # 建设社区 exists, but 建设路 is a road: the weak alias 建设 does not count before 路.
    assert county.match("建设路18号").reason == "no_match"
    assert county.match("幸福大街").reason == "no_match"


def test_the_full_name_counts_even_before_a_road_word(county: AddressMatcher) -> None:
    assert county.match("城关街道路口").code == "370113001"


def test_an_exclusive_grid_by_its_institution(county: AddressMatcher) -> None:
    match = county.match("城关新华小学门口")
    assert match.code == "370113001001Z01"
    assert match.matched == ("城关新华小学",)


def test_a_name_inside_a_longer_name_is_no_candidate() -> None:
    units = [
        Unit("T", "县", "district", None),
        Unit("S1", "马山镇", "street", "T"),
        Unit("S2", "孝里镇", "street", "T"),
        Unit("V1", "马山村", "community", "S2"),  # a village named like the other town
    ]
    matcher = AddressMatcher(units)
    assert matcher.match("马山村").code == "V1"
    assert matcher.match("马山镇").code == "S1"
    assert matcher.match("马山").code is None  # both, weakly: ambiguous


def test_longer_local_names_win_over_their_prefixes() -> None:
    units = [
        Unit("T", "县", "district", None),
        Unit("S", "甲街道", "street", "T"),
        Unit("C", "甲社区", "community", "S"),
        Unit("G", "甲社区第1网格", "grid", "C"),
        *(Unit(f"M{n}", f"第1网格{n}号微网格", "micro_grid", "G") for n in (1, 11)),
    ]
    matcher = AddressMatcher(units)
    assert matcher.match("甲社区第1网格11号微网格").code == "M11"
    assert matcher.match("甲社区第1网格1号微网格").code == "M1"


def test_explicit_aliases(tiny: AddressMatcher) -> None:
    assert tiny.match("育才小学").code == "X1"
    assert tiny.match("乙镇王庄").code == "V1"
    assert tiny.match("甲街道第2网格").code == "G2"
