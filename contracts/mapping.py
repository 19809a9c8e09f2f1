"""What the map asks of the other services: the outlines of the whole territory in one answer
(``grid.outlines``), and the open cases of a scope, each with its place and what its marker
shows (``dispatch.open_cases``), without the whole case."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import AwareDatetime

from contracts.common import Contract, RiskGrade
from contracts.event_data import Level
from contracts.rpc import GridUnit, StaffMember

OPEN_STATUSES: Final = ("received", "pending_dispatch", "dispatched", "accepted", "in_progress")
"""Still being worked on: a concluded case only waits for its revisit (回访)."""
MAX_OPEN_CASES: Final = 5000
"""The most one answer holds, newest first: the map of a county, not a table dump."""


class OpenCase(Contract):
    """An open case as a marker and a unit's panel show it; ``overdue``: past a limit its
    holder must meet, by dispatch's clock."""

    case_id: str
    lat: float | None = None
    lon: float | None = None
    risk: RiskGrade
    status: str
    category: str | None = None
    overdue: bool = False
    received_at: AwareDatetime


class OpenCases(Contract):
    """``items`` newest first; ``capped``: there were more than the answer could hold."""

    items: list[OpenCase]
    capped: bool = False


Ring = list[tuple[float, float]]
"""A closed ring of [lon, lat] points, as GeoJSON writes them."""


class UnitProperties(Contract):
    """What a unit's feature says of it: the map's layers are by ``level`` and ``kind``
    (专属网格 are ``exclusive``), its labels and search by ``name`` and ``code``."""

    code: str
    name: str
    level: Level
    parent: str | None
    kind: Literal["basic", "exclusive"] = "basic"
    exclusive_type: str | None = None


class MultiPolygon(Contract):
    type: Literal["MultiPolygon"] = "MultiPolygon"
    coordinates: list[list[Ring]]
    """Polygons, each its outer ring and then its holes."""


class UnitFeature(Contract):
    type: Literal["Feature"] = "Feature"
    id: str
    properties: UnitProperties
    geometry: MultiPolygon


class TerritoryOutlines(Contract):
    """Every unit of the territory with an outline, of every level and kind, simplified for
    drawing (about 10 m) and rounded to 6 decimals (about 10 cm): a GeoJSON
    FeatureCollection, so that any map library (Leaflet, ECharts' ``registerMap``) reads it."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[UnitFeature]


class TileSource(Contract):
    """Base tiles the county configured (``CIVICFLOW_MAP_TILES``…): a URL template with
    ``{z}/{x}/{y}`` (and ``{s}`` over ``subdomains``), and whose tiles they are."""

    url: str
    attribution: str
    subdomains: str = ""
    max_zoom: int = 18


class MapTerritory(TerritoryOutlines):
    """The console's ``GET /api/v1/map/territory``: the outlines, and the base tiles if any
    (null: none; the map then fetches nothing from anywhere)."""

    tiles: TileSource | None = None


class UnitPanel(Contract):
    """The console's ``GET /api/v1/map/units/{code}``: a unit, its chain up to the district,
    its people with their numbers masked (``phones``: how they are shown), its open cases
    within the user's reach newest first (``capped``: there are more) and the overdue ones."""

    unit: GridUnit
    chain: list[GridUnit]
    people: list[StaffMember]
    phones: Literal["masked"] = "masked"
    open_cases: list[OpenCase]
    overdue_cases: list[OpenCase]
    capped: bool = False
