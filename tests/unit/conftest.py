"""Fixtures shared by the unit tests of the pure code: the real dev configuration documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"


def load_config(name: str) -> dict[str, Any]:
    with (CONFIG_DIR / name).open(encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    assert isinstance(document, dict), f"{name} is not a mapping"
    return document


@pytest.fixture(scope="session")
def categories_doc() -> dict[str, Any]:
    return load_config("categories.yml")


@pytest.fixture(scope="session")
def departments_doc() -> dict[str, Any]:
    return load_config("departments.yml")


@pytest.fixture(scope="session")
def sources_doc() -> dict[str, Any]:
    return load_config("sources.yml")


@pytest.fixture(scope="session")
def sla_doc() -> dict[str, Any]:
    return load_config("sla.yml")
