"""网格地图's entrypoints, a mixin of ``ConsoleService``: the territory's outlines in one call,
the open cases as markers, a unit's panel (``territory_map``)."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

from kit.providers import Configured
from kit.web import http, json_response
from services.console import territory_map
from services.console.config import MapTiles, load_map_tiles
from services.console.edge import answers
from services.console.ports import Dispatch, Grid

if TYPE_CHECKING:
    from services.console import domain

GZIP_ABOVE_BYTES = 16_384
"""The county's outlines are a megabyte of JSON and a tenth of that gzipped."""


class MapEntrypoints:
    map_tiles: MapTiles | None = Configured(load_map_tiles)
    dispatch: Dispatch
    grid: Grid

    if TYPE_CHECKING:

        def _principal(self, request: Request, token: str | None = None) -> domain.Principal: ...

    @http("GET", "/api/v1/map/territory")
    def map_territory(self, request: Request) -> Response:
        """Every unit of every level and kind as a GeoJSON FeatureCollection, and ``tiles``:
        the base tiles the county configured, or null."""
        self._principal(request)
        outlines = territory_map.territory(self.grid, self.map_tiles)
        return compressed(request, json_response(outlines))

    @http("GET", "/api/v1/map/cases")
    def map_cases(self, request: Request) -> Response:
        """The open cases within reach that have a place: ``{items, capped}``."""
        principal = self._principal(request)
        return json_response(territory_map.case_markers(self.dispatch, principal))

    @http("GET", "/api/v1/map/units/<string:code>")
    def map_unit(self, request: Request, code: str) -> Response:
        """A unit's panel: the unit, its people (phones masked), its open and overdue cases."""
        principal = self._principal(request)
        with answers():
            panel = territory_map.unit_panel(self.dispatch, self.grid, principal, code)
        return json_response(panel)


def compressed(request: Request, response: Response) -> Response:
    """The answer gzipped when the client takes it and it is worth it."""
    body = response.get_data()
    if len(body) < GZIP_ABOVE_BYTES or "gzip" not in request.headers.get("Accept-Encoding", ""):
        return response
    response.set_data(gzip.compress(body, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    return response
