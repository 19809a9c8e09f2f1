"""The catalogues as the kernel reads them for every service."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.catalogue import CatalogueError, read_categories, read_departments
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
