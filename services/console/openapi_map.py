"""The OpenAPI paths of the map (``map_api``), joined into ``openapi.document`` and made with
its helpers (handed in: that module imports this)."""

from __future__ import annotations

from typing import Any

from contracts.mapping import MapTerritory, OpenCases, UnitPanel


def map_paths(components: Any, op: Any, json: Any, error: Any, path: Any) -> dict[str, Any]:
    """网格地图: every outline in one GeoJSON answer, the open cases as markers, a panel."""
    return {
        "/api/v1/map/territory": {"get": op(
            "every unit's outline, all levels and 专属网格, as GeoJSON; the base tiles if any",
            {"200": json("FeatureCollection", components.ref(MapTerritory))}, tag="grid")},
        "/api/v1/map/cases": {"get": op(
            "the open cases within reach that have a place, newest first (at most 5,000)",
            {"200": json("markers", components.ref(OpenCases))}, tag="grid")},
        "/api/v1/map/units/{code}": {"get": op(
            "a unit's panel: its people (phones masked), its open and overdue cases in reach",
            {"200": json("panel", components.ref(UnitPanel)), "404": error("no such unit")},
            tag="grid", params=[path("code")])},
    }  # fmt: skip
