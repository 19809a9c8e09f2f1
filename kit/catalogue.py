"""The catalogues as a service starts with them: categories.yml and departments.yml read from
the configuration directory and checked by the kernel, so that a wrong one is refused naming
the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

from kernel.catalogue import (
    CATEGORIES_FILE,
    DEPARTMENTS_FILE,
    Catalogue,
    CatalogueError,
    Department,
    departments_from_text,
)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CatalogueError(f"{path}: missing") from None


def load_departments(config_dir: Path) -> dict[str, Department]:
    """departments.yml's departments by code."""
    return departments_from_text(_read(config_dir / DEPARTMENTS_FILE), DEPARTMENTS_FILE)


def load_catalogue(config_dir: Path) -> Catalogue:
    """Both catalogues, each category's department among departments.yml's."""
    return Catalogue.from_texts(
        _read(config_dir / CATEGORIES_FILE), _read(config_dir / DEPARTMENTS_FILE)
    )
