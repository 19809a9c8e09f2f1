"""The catalogues as the kernel reads them for every service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.catalogue import (
    CatalogueError,
    DutyEntry,
    category_entry,
    department_entry,
    read_categories,
    read_departments,
)
from kernel.config import ConfigError
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
    assert entries["D-ZZB"].duties == (DutyEntry("petition", None, "assist"),)
    assert entries["S-001"].unit == "370113001" and entries["S-001"].level == "street"
    assert DutyEntry("dispute") in entries["S-001"].duties
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
