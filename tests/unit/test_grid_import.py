"""Import formats and validation: every error names the feature or row it is about; export and
import give back the same territory."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from services.grid import formats
from services.grid.domain import Bundle, GridImportError, Territory, merge
from services.grid.rules import validate
from services.grid.transfer import export_texts, parse_bundle
from tests.unit.grid_support import (
    collection,
    configured_demo_index,
    feature,
    polygon,
    ring,
    tiny_territory,
)


def tiny_geojson(*extra: dict[str, Any]) -> str:
    return collection(
        feature("T", "小县", "district", None, polygon(ring(116.0, 36.0, 116.4, 36.2))),
        feature("S1", "甲街道", "street", "T", polygon(ring(116.0, 36.0, 116.2, 36.2))),
        feature("C1", "甲社区", "community", "S1", polygon(ring(116.0, 36.0, 116.2, 36.2))),
        feature("G1", "甲社区第1网格", "grid", "C1", polygon(ring(116.0, 36.0, 116.1, 36.2))),
        *extra,
    )


def problems_of(text: str) -> list[str]:
    """Every problem an import of these units would report, parse and validation alike."""
    try:
        bundle = parse_bundle({"units": text})
    except GridImportError as exc:
        return [str(problem) for problem in exc.problems]
    territory = merge(Territory(), bundle)
    problems, _ = validate(territory, bundle.parts)
    return [str(problem) for problem in problems]


def test_a_good_file_has_no_problems() -> None:
    assert problems_of(tiny_geojson()) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "units.geojson: not JSON"),
        ('{"type": "Feature"}', "expected a GeoJSON FeatureCollection"),
        ('{"type": "FeatureCollection", "features": {}}', "features must be a list"),
    ],
)
def test_the_file_itself(text: str, expected: str) -> None:
    problems = problems_of(text)
    assert len(problems) == 1 and expected in problems[0]


BAD = polygon([[116.0, 36.0], [116.1, 36.0], [116.1, 36.1], [116.0, 36.1]])
BOW_TIE = polygon([[116.0, 36.0], [116.1, 36.1], [116.1, 36.0], [116.0, 36.1], [116.0, 36.0]])
INSIDE_G1 = polygon(ring(116.0, 36.0, 116.05, 36.1))


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"type": "Point"}, "features[4]: not a GeoJSON Feature"),
        ({"type": "Feature", "geometry": INSIDE_G1}, "features[4]: properties are missing"),
        (
            feature("", "无码", "micro_grid", "G1", INSIDE_G1),
            "features[4] ( 无码): property code is missing",
        ),
        (feature("M1", "", "micro_grid", "G1", INSIDE_G1), "(M1 ): property name is missing"),
        (
            feature("M1", "微", "province", "G1", INSIDE_G1),
            "(M1 微): level 'province' is not one of",
        ),
        (
            feature("M1", "微", "micro_grid", "G1", INSIDE_G1, kind="special"),
            "kind 'special' is not basic or exclusive",
        ),
        (
            feature("M1", "微", "micro_grid", "G1", INSIDE_G1, aliases="微"),
            "aliases must be a list of names",
        ),
        (feature("M1", "微", "micro_grid", "G1", None), "(M1 微): geometry is missing"),
        (feature("M1", "微", "micro_grid", "G1", BAD), "(M1 微): outer ring is not closed"),
        (feature("M1", "微", "micro_grid", "G1", BOW_TIE), "(M1 微): invalid polygon: self-inter"),
        (
            feature("G1", "重码", "micro_grid", "G1", INSIDE_G1),
            "features[4] (G1 重码): code G1 is already used by units.geojson: features[3]",
        ),
        (
            feature("M1", "微", "micro_grid", "G9", INSIDE_G1),
            "features[4] (M1 微): parent G9 is not a unit",
        ),
        (
            feature("M1", "微", "micro_grid", None, INSIDE_G1),
            "(M1 微): a micro_grid needs a parent (grid)",
        ),
        (
            feature("M1", "微", "micro_grid", "C1", INSIDE_G1),
            "(M1 微): levels inconsistent: a micro_grid's parent must be a grid, but C1 is a "
            "community",
        ),
        (
            feature("T2", "又一县", "district", None, polygon(ring(116.0, 36.0, 116.4, 36.2))),
            "exactly one district is needed at the root",
        ),
        (
            feature("M1", "微", "micro_grid", "G1", polygon(ring(116.05, 36.0, 116.15, 36.1))),
            "features[4] (M1 微): not inside its parent G1 甲社区第1网格: sticks out by up to",
        ),
        (
            feature("X1", "专属", "grid", "C1", INSIDE_G1, kind="exclusive", exclusive_type="zoo"),
            "(X1 专属): exclusive grid needs a type, one of school, hospital, market",
        ),
        (
            feature("X1", "专属", "grid", "G1", INSIDE_G1, kind="exclusive", exclusive_type="学校"),
            "(X1 专属): parent G1 is a grid; an exclusive grid belongs to a community or a street",
        ),
    ],
)
def test_each_import_error_names_the_feature(bad: dict[str, Any], expected: str) -> None:
    problems = problems_of(tiny_geojson(bad))
    assert any(expected in problem for problem in problems), problems
    assert all("features[" in p or "exactly one district" in p for p in problems), problems


def test_all_problems_are_reported_at_once() -> None:
    problems = problems_of(
        tiny_geojson(
            feature("M1", "微", "micro_grid", "G1", BAD),
            feature("M2", "微", "micro_grid", "G1", None),
            feature("M3", "微", "province", "G1", INSIDE_G1),
        )
    )
    assert [p.split(":")[1].strip() for p in problems] == [
        "features[4] (M1 微)",
        "features[5] (M2 微)",
        "features[6] (M3 微)",
    ]


def test_chinese_words_for_levels_and_types() -> None:
    text = collection(
        feature("T", "小县", "区县", None, polygon(ring(116.0, 36.0, 116.4, 36.2))),
        feature("S1", "甲街道", "街镇", "T", polygon(ring(116.0, 36.0, 116.2, 36.2))),
        feature("C1", "甲社区", "村居", "S1", polygon(ring(116.0, 36.0, 116.2, 36.2))),
        feature("X1", "医院", "网格", "C1", INSIDE_G1, kind="专属网格", exclusive_type="医院"),
    )
    bundle = parse_bundle({"units": text})
    assert bundle.units is not None
    assert [u.level for u in bundle.units] == ["district", "street", "community", "grid"]
    assert (bundle.units[3].kind, bundle.units[3].exclusive_type) == ("exclusive", "hospital")
    assert problems_of(text) == []


def test_a_tolerance_forgives_a_survey_sliver() -> None:
    sliver = 0.5 / 111_320
    text = tiny_geojson(
        feature("M1", "微", "micro_grid", "G1", polygon(ring(116.0, 36.0, 116.1 + sliver, 36.1)))
    )
    bundle = parse_bundle({"units": text})
    territory = merge(Territory(), bundle)
    assert validate(territory, ["units"], tolerance_m=1.0)[0] == []
    assert len(validate(territory, ["units"], tolerance_m=0.1)[0]) == 1


# --- people, departments, duties, categories ---------------------------------------------------


def test_people_from_csv_with_chinese_roles() -> None:
    text = (
        "\ufeffunit,role,name,phone,wechat\n"
        "G1,专职网格员,王芳,+86 138-1234-1234,wx1\n"
        "G1,调解员,张伟,,\n"
    )
    bundle = parse_bundle({"people": text})
    assert bundle.people is not None
    first, second = bundle.people
    assert (first.role, first.phone, first.wechat, first.person_id) == (
        "grid_worker",
        "13812341234",
        "wx1",
        "G1-grid_worker-1",
    )
    assert (second.role, second.phone, second.person_id) == ("mediator", None, "G1-mediator-1")
    assert first.origin == "people.csv: row 2"


def test_people_rows_are_named() -> None:
    text = "unit,role,name,phone\nG1,grid_worker,王芳,12345\nG1,volunteer,李四,138****1234\n"
    with pytest.raises(GridImportError) as refused:
        parse_bundle({"people": text})
    problems = [str(p) for p in refused.value.problems]
    assert problems[0].startswith("people.csv: row 2 (G1 grid_worker): phone '12345'")
    assert problems[1].startswith("people.csv: row 3 (G1 volunteer): phone 138****1234 is masked")
    assert "--with-phones" in problems[1]


def test_people_against_the_units() -> None:
    territory = tiny_territory()
    bundle = parse_bundle({"people": "unit,role,name\nG9,grid_worker,王芳\nM1,police,李四\n"})
    problems, _ = validate(merge(territory, bundle), bundle.parts)
    assert [str(p) for p in problems] == [
        "people.csv: row 2 (G9 grid_worker 王芳): unit G9 is not a unit",
        "people.csv: row 3 (M1 police 李四): a micro_grid (basic) has no police role",
    ]


def test_people_in_yaml() -> None:
    good = "people:\n  - {unit: G1, role: grid_worker, name: 王芳, phone: '13812341234'}\n"
    bundle = parse_bundle({"people": good}, {"people": "people.yml"})
    assert bundle.people is not None
    assert [(p.unit, p.role, p.phone) for p in bundle.people] == [
        ("G1", "grid_worker", "13812341234")
    ]
    assert bundle.people[0].origin == "people.yml: people[0]"
    with pytest.raises(GridImportError, match=r"people.yml: people\[1\]: expected a mapping"):
        parse_bundle({"people": good + "  - just text\n"}, {"people": "people.yml"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("departments: [", "departments.yml: not valid YAML"),
        ("- a\n- b\n", "expected a mapping with a 'departments' list"),
        ("departments: {a: 1}", "departments must be a list"),
        (
            "departments:\n  - {code: D-1, name: 局, level: district, duties: [3]}",
            "departments.yml: departments[0].duties[0]: a duty is a category code or a mapping",
        ),
        (
            "departments:\n  - {code: D-1, name: 局, level: district, duties: x}",
            "departments.yml: departments[0].duties: must be a list",
        ),
    ],
)
def test_department_files(text: str, expected: str) -> None:
    with pytest.raises(GridImportError) as refused:
        parse_bundle({"departments": text})
    assert expected in str(refused.value)


def test_duty_lines_take_their_departments_level() -> None:
    territory = tiny_territory()
    bundle = parse_bundle(
        {"duties": "department,category,role\nS2-ZZ,dispute.family,lead\nD-GAJ,order.public,\n"}
    )
    merged = merge(territory, bundle)
    assert [(d.department, d.category, d.level, d.role) for d in merged.duties] == [
        ("S2-ZZ", "dispute.family", "street", "lead"),
        ("D-GAJ", "order.public", "district", "lead"),
    ]
    assert validate(merged, bundle.parts)[0] == []


def test_duty_lines_against_the_catalogue() -> None:
    bundle = parse_bundle({"duties": "department,category,level\nD-9,no.such,district\n"})
    problems, _ = validate(merge(tiny_territory(), bundle), bundle.parts)
    assert [str(p) for p in problems] == [
        "duties.csv: row 2 (D-9 no.such district): department D-9 is not known",
        "duties.csv: row 2 (D-9 no.such district): category no.such is not in the catalogue",
    ]


def test_categories_from_csv() -> None:
    text = (
        "code,name,parent,department,level,resolve,risk,keywords\n"
        "x.one,一,,D-SFJ,district,P3D,red,甲|乙\n"
    )
    bundle = parse_bundle({"categories": text}, {"categories": "categories.csv"})
    assert bundle.categories is not None
    (category,) = bundle.categories
    assert category.keywords == (("甲", 1.0), ("乙", 1.0))
    assert (category.resolve, category.risk) == ("P3D", "red")


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [
        ("3", "keywords: must be a list of words"),
        ("[{a: x}]", "weight of 'a' must be a number"),
        ("[[a]]", "is neither a word nor word: weight"),
    ],
)
def test_category_keywords(keywords: str, expected: str) -> None:
    text = f"categories:\n  - {{code: x, name: 叉, department: D-1, keywords: {keywords}}}\n"
    with pytest.raises(GridImportError, match=expected):
        parse_bundle({"categories": text})


def test_the_configuration_files_import_cleanly() -> None:
    index = configured_demo_index()
    problems, warnings = validate(index.territory, ["units", "people", "departments", "duties"])
    assert problems == [] and warnings == []
    assert len(index.territory.departments) == 30
    assert len([c for c in index.territory.categories if not c.is_group]) >= 60


def test_a_partial_bundle_keeps_the_other_parts() -> None:
    territory = tiny_territory()
    bundle = parse_bundle({"people": "unit,role,name\nG2,grid_worker,新人\n"})
    merged = merge(territory, bundle)
    assert merged.units == territory.units and merged.duties == territory.duties
    assert [p.name for p in merged.people] == ["新人"]
    assert Bundle(units=[]).parts == ["units"]
    assert bundle.parts == ["people"]


# --- round trip --------------------------------------------------------------------------------


def without_origins(territory: Territory) -> Territory:
    return Territory(
        units=tuple(sorted(territory.units, key=lambda u: u.code)),
        people=tuple(sorted(territory.people, key=lambda p: (p.unit, p.role, p.person_id))),
        departments=tuple(sorted(territory.departments, key=lambda d: d.code)),
        duties=tuple(sorted(territory.duties, key=lambda d: (d.department, d.category, d.level))),
        categories=tuple(sorted(territory.categories, key=lambda c: c.code)),
    )


def test_export_then_import_gives_the_same_territory() -> None:
    original = configured_demo_index().territory
    texts = export_texts(original, with_phones=True)
    parts = {name.split(".")[0]: text for name, text in texts.items()}
    again = merge(Territory(), parse_bundle(parts))
    assert without_origins(again) == without_origins(original)


def test_export_masks_phones_unless_asked() -> None:
    territory = tiny_territory()
    texts = export_texts(territory, with_phones=False)
    assert "13812341234" not in texts["people.csv"] and "138****1234" in texts["people.csv"]
    assert "13800000101" not in texts["departments.yml"]
    assert "13812341234" in export_texts(territory, with_phones=True)["people.csv"]


def test_the_exported_geojson_is_one_feature_per_line() -> None:
    text = formats.units_geojson(tiny_territory().units)
    document = json.loads(text)
    assert len(document["features"]) == len(tiny_territory().units)
    assert document["features"][0]["properties"]["code"] == "T"  # parents first
    exclusive = next(f for f in document["features"] if f["properties"]["code"] == "X1")
    assert exclusive["properties"]["kind"] == "exclusive"
    assert exclusive["properties"]["aliases"] == ["育才小学"]
    assert len(text.splitlines()) == len(document["features"]) + 2


def test_departments_yaml_writes_duties_in_short_form_where_it_can() -> None:
    territory = tiny_territory()
    text = formats.departments_yaml(territory.departments, territory.duties, with_phones=True)
    # a lead at the department's own level is just the category code
    assert "  unit: S1\n  phone: '13800000101'\n  duties:\n  - dispute\n" in text
    assert "  - category: dispute.neighbour\n    level: district\n    role: assist\n" in text
    departments, duties, problems = formats.parse_departments(text)
    assert problems == []
    assert {(d.department, d.category, d.level, d.role) for d in duties} == {
        (d.department, d.category, d.level, d.role) for d in territory.duties
    }
    assert [replace(d, origin="") for d in departments] == sorted(
        territory.departments, key=lambda d: (d.level != "district", d.code)
    )


def test_a_duty_line_of_the_wrong_shape_is_a_problem() -> None:
    text = "duties:\n  - {department: D-GAJ, category: [order.public]}\n"
    with pytest.raises(GridImportError) as refused:
        parse_bundle({"duties": text}, {"duties": "duties.yml"})
    assert "duties.yml: duties[0].category: Input should be a valid string" in str(refused.value)
