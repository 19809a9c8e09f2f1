"""The catalogues as the kernel reads them for every service."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from kernel.catalogue import (
    Catalogue,
    CatalogueError,
    DutyEntry,
    category_entry,
    department_entry,
    departments_from_text,
    read_categories,
    read_departments,
)
from kernel.config import ConfigError
from kit.catalogue import load_catalogue, load_departments
from tests.unit.conftest import CONFIG_DIR
from tests.unit.conftest import load_config as load


def test_the_shipped_catalogues_read() -> None:
    departments = read_departments(load("departments.yml"))
    categories = read_categories(load("categories.yml"), departments)
    assert departments and categories
    for category in categories.values():
        assert category.department in departments
        assert category.resolve > timedelta(0)


def test_a_category_naming_no_known_department_is_refused() -> None:
    departments = read_departments(
        {"departments": [{"code": "D-1", "name": "一", "level": "street"}]}
    )
    document = {"categories": [{"code": "x", "name": "X", "department": "D-2"}]}
    with pytest.raises(CatalogueError, match=r"categories\[0\] \(x\)\.department: 'D-2'"):
        read_categories(document, departments)
    assert issubclass(CatalogueError, ConfigError)


def test_the_entries_keep_every_field_the_files_write() -> None:
    """What grid imports and exports: a street department's unit and contact, its duties in
    both forms, a group's parent and risk."""
    document = load("departments.yml")
    entries = {
        entry.code: entry
        for entry in (
            department_entry(item, f"departments[{n}]")
            for n, item in enumerate(document["departments"])
        )
    }
    assert entries["D-ZZB"].contact == "综治中心值班室"
    assert entries["D-ZZB"].duties == (DutyEntry(category="petition", role="assist"),)
    assert entries["S-001"].unit == "370113001" and entries["S-001"].level == "street"
    assert DutyEntry(category="dispute") in entries["S-001"].duties
    group = category_entry({"code": "dispute", "name": "矛盾纠纷", "risk": "yellow"}, "groups[0]")
    assert (group.department, group.risk, group.keywords) == (None, "yellow", {})
    category = category_entry(
        {"code": "x", "name": "X", "parent": "dispute", "keywords": ["甲", {"乙": 2}]}, "here"
    )
    assert category.parent == "dispute" and category.keywords == {"甲": 1.0, "乙": 2.0}


@pytest.mark.parametrize(
    ("entry", "where", "detail"),
    [
        ({"code": "D-1", "duties": "x"}, "here.duties", "must be a list"),
        (
            {"code": "D-1", "duties": [3]},
            "here.duties[0]",
            "a duty is a category code or a mapping",
        ),
        ("D-1", "here", "expected a mapping"),
    ],
)
def test_a_department_entry_of_the_wrong_shape_names_where(
    entry: object, where: str, detail: str
) -> None:
    with pytest.raises(CatalogueError) as refused:
        department_entry(entry, "here")
    assert (refused.value.where, refused.value.detail) == (where, detail)
    assert str(refused.value) == f"{where}: {detail}"


def test_keywords_written_as_one_word_are_refused() -> None:
    with pytest.raises(CatalogueError, match=r"^here\.keywords: must be a list of words$"):
        category_entry({"code": "x", "name": "X", "keywords": "噪音"}, "here")


def test_the_shipped_files_read_as_text_as_from_documents() -> None:
    catalogue = load_catalogue(CONFIG_DIR)
    departments = read_departments(load("departments.yml"))
    assert catalogue.departments == departments == load_departments(CONFIG_DIR)
    assert catalogue.categories == read_categories(load("categories.yml"), departments)


DEPARTMENTS = "departments:\n  - {code: D-1, name: 一, level: street}\n"


@pytest.mark.parametrize(
    ("categories", "message"),
    [
        ("categories:\n  - code: x\n    name: X\n    department: D-2\n",
         r"categories.yml line 4: categories[0] (x).department: 'D-2' is not a known department"),
        ("categories:\n  - code: x\n    name: X\n    department: D-1\n    resolve: five\n",
         "categories.yml line 5: categories[0] (x).resolve: 'five' is not an ISO 8601 duration "
         "like PT2H or P5D"),
        ("categories:\n  - code: x\n    name: X\n    department: D-1\n    level: ''\n",
         "categories.yml line 5: categories[0] (x).level: '' is not one of "),
        ("categories:\n  - code: x\n    name: X\n    department: D-1\n"
         "    keywords: [甲, {乙: heavy}]\n",
         "categories.yml line 5: categories[0].keywords: weight of '乙' must be a number"),
        ("categories:\n  - code: x\n    name: X\n    departmnet: D-1\n",
         "categories.yml line 4: categories[0].departmnet: Extra inputs are not permitted"),
        ("groups:\n  - {code: g, name: G}\n  - {code: g, name: G, risk: [red]}\n",
         "categories.yml line 3: groups[1].risk: Input should be a valid string"),
    ],
)  # fmt: skip
def test_a_wrong_category_is_refused_naming_the_line(categories: str, message: str) -> None:
    with pytest.raises(CatalogueError) as refused:
        Catalogue.from_texts(categories, DEPARTMENTS)
    assert str(refused.value).startswith(message)


@pytest.mark.parametrize(
    ("departments", "message"),
    [
        ("departments:\n  - code: D-1\n    name: 一\n    level: town\n",
         "departments.yml line 4: departments[0].level: 'town' is not one of "),
        ("departments:\n  - code: D-1\n    name: 一\n",
         "departments.yml line 2: departments[0].level: missing"),
        ("departments:\n  - {code: D-1, name: 一, level: street, duties: [3]}\n",
         "departments.yml line 2: departments[0].duties[0]: a duty is a category code or a "
         "mapping"),
        ("departments:\n  - {code: D-1, name: 一, level: street, duties: x}\n",
         "departments.yml line 2: departments[0].duties: must be a list"),
        ("departments:\n  - D-1\n", "departments.yml line 2: departments[0]: expected a mapping"),
        ("departments:\n  - {code: D-1, name: 一, level: street}\n"
         "  - {code: D-2, name: 二, level: street, code: D-3}\n",
         "departments.yml line 3: departments[1].code: given twice"),
        ("department: []\n", "departments.yml line 1: department: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_wrong_department_is_refused_naming_the_line(departments: str, message: str) -> None:
    with pytest.raises(CatalogueError) as refused:
        departments_from_text(departments)
    assert str(refused.value).startswith(message)
    with pytest.raises(CatalogueError, match=r"^departments\.yml line"):
        Catalogue.from_texts("categories: []\n", departments)


def test_a_missing_catalogue_is_named(tmp_path: Path) -> None:
    (tmp_path / "departments.yml").write_text(DEPARTMENTS, encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"categories\.yml: missing$"):
        load_catalogue(tmp_path)
    assert load_departments(tmp_path)["D-1"].level == "street"
