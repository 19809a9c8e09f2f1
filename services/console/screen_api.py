"""Console's entrypoints of the big screen (中心大屏) and 一单考评: a mixin the service class
inherits, so that ``service.py`` stays entrypoints of the rest. Each decodes, calls
``screen``/``cases`` and answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from contracts.events import Envelope
from kernel.catalogue import Catalogue
from kit.cache import KeptAnswers
from kit.messaging import on_event_batch
from kit.web import http, json_response
from services.console import cases
from services.console import screen as big_screen
from services.console.edge import answers
from services.console.refusals import BadField

if TYPE_CHECKING:
    from kernel.clock import Clock
    from services.console import domain
    from services.console.ports import Dispatch, Grid, Supervision
    from services.console.unit_of_work import SqlConsoleReads, SqlConsoleUnitOfWork

NAMES_KEPT_SECONDS = 300.0
_names: KeptAnswers[str, big_screen.Names] = KeptAnswers(NAMES_KEPT_SECONDS)
SCREEN_LEVELS = ("street", "grid")


class ScreenEntrypoints:
    """中心大屏 and 一单考评."""

    catalogue: Catalogue  # the service's one catalogue (ConsoleService.catalogue)

    if TYPE_CHECKING:
        clock: Clock
        dispatch: Dispatch
        grid: Grid
        supervision: Supervision

        def _principal(self, request: Request, token: str | None = None) -> domain.Principal: ...

        def _reads(self) -> SqlConsoleReads: ...

        def _uow(self) -> SqlConsoleUnitOfWork: ...

    @http("GET", "/api/v1/screen")
    def screen(self, request: Request) -> Response:
        """中心大屏: today's figures (Beijing day), trends, rankings, ticker, today's points."""
        self._principal(request)
        names = _names.get("names", self._screen_names)
        return json_response(big_screen.screen(self._reads(), self.clock.now(), names))

    def _screen_names(self) -> big_screen.Names:
        units = {level: {u["code"]: u["name"] for u in self.grid.units(level, None, 5000)}
                 for level in SCREEN_LEVELS}  # fmt: skip
        categories = {code: c.name for code, c in self.catalogue.categories.items()}
        return big_screen.Names(units["street"], units["grid"], categories)

    @http("GET", "/api/v1/screen/map")
    def screen_map(self, request: Request) -> Response:
        """The county's streets (or grids: ``level=grid``) as GeoJSON, for the screen's map."""
        self._principal(request)
        level = request.args.get("level", "street")
        with answers():
            if level not in SCREEN_LEVELS:
                raise BadField("level", f"{level!r} is not one of street, grid")
            return json_response(geojson_of(self.grid.shapes(level)))

    @http("GET", "/api/v1/assessment")
    def assessment(self, request: Request) -> Response:
        principal = self._principal(request)
        period, kind = request.args.get("period", ""), request.args.get("kind") or None
        with answers(self.dispatch, period):
            return json_response(cases.assessment(self.supervision, principal, period, kind))

    @on_event_batch(*big_screen.FOLLOWED)
    def count_for_the_screen(self, batch: list[tuple[Envelope[Any]]]) -> list[None]:
        """The big screen's counters; a burst is counted in one transaction."""
        big_screen.count_events(self._uow(), [event for (event,) in batch])
        return [None] * len(batch)


def geojson_of(shapes: list[dict[str, Any]]) -> dict[str, Any]:
    """Grid's outlines as a GeoJSON FeatureCollection (``properties.name`` is what ECharts
    names a region by)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": shape["code"],
             "properties": {"name": shape["name"], "code": shape["code"]},
             "geometry": {"type": "MultiPolygon",
                          "coordinates": [[ring] for ring in shape["polygons"]]}}
            for shape in shapes
        ],
    }  # fmt: skip
