"""网格地图: the territory's outlines for the map, the open cases within the user's reach as
its markers, and the panel of a unit (its people, phones masked; its open and overdue cases).

The territory itself is no secret inside the centre: every user sees every outline. Cases are
another matter: only those within reach (``cases.scope_of``) are drawn or listed.
"""

from __future__ import annotations

from typing import Any

from contracts.mapping import MAX_OPEN_CASES
from services.console import domain
from services.console.cases import scope_of
from services.console.config import MapTiles
from services.console.ports import Dispatch, Grid
from services.console.refusals import NotFound

PANEL_CASES = 200
"""A unit's panel lists this many of its open cases, newest first (``capped`` says more)."""
PHONES_MASKED = "masked"
"""How the panel shows its people's numbers: masked, as grid keeps them for reading; there
is no audited reveal of a staff member's number in the console (only of a citizen's)."""


def territory(grid: Grid, tiles: MapTiles | None) -> dict[str, Any]:
    """Every unit's outline, one GeoJSON FeatureCollection, with the base tiles the county
    configured (None: the map draws the territory alone)."""
    return {**grid.outlines(), "tiles": tiles.view() if tiles else None}


def case_markers(dispatch: Dispatch, principal: domain.Principal) -> dict[str, Any]:
    """The open cases within reach that have a place: ``{items, capped}``."""
    return dispatch.open_cases(scope_of(principal), located=True, limit=MAX_OPEN_CASES)


def unit_panel(
    dispatch: Dispatch, grid: Grid, principal: domain.Principal, code: str
) -> dict[str, Any]:
    """A unit as its panel shows it: the unit and its chain up to the district, its people
    (一格四员 of a grid, phones masked), its open cases within the user's reach and, of those,
    the overdue ones."""
    chain = grid.chain(code)
    if not chain:
        raise NotFound(f"no unit {code}")
    found = dispatch.open_cases(scope_of(principal), unit=code, limit=PANEL_CASES)
    cases = found["items"]
    return {
        "unit": chain[0],
        "chain": chain,
        "people": grid.staff(code),
        "phones": PHONES_MASKED,
        "open_cases": cases,
        "overdue_cases": [case for case in cases if case.get("overdue")],
        "capped": bool(found.get("capped")),
    }
