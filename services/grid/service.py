"""Grid's entrypoints: reads of the territory over RPC, served from the in-memory index.

Nothing here raises for a place or code that is not found: ``locate`` answers
``located: false`` with a reason, the list reads answer ``[]``.
"""

from __future__ import annotations

from typing import Any

from contracts.events import GRID_STAFF_CHANGED, GRID_UNIT_CHANGED, Envelope
from kit.base import ServiceBase
from kit.messaging import on_event
from kit.providers import Configured, Database
from kit.rpc import rpc, timer
from services.grid.cache import REFRESH_SECONDS, new_cache
from services.grid.index import TerritoryIndex
from services.grid.models import TABLES
from services.grid.repository import GridRepository


class GridService(ServiceBase):
    name = "grid"
    db = Database(TABLES)
    territory = Configured(new_cache)

    def _index(self) -> TerritoryIndex:
        return self.territory.current(self.db.read)

    @rpc
    def units(
        self,
        level: str | None = None,
        parent: str | None = None,
        limit: int = 100,
        kind: str = "basic",
    ) -> Any:
        """Units by level and/or parent, by code: ``[{code, name, level, parent}]``."""
        return [u.model_dump() for u in self._index().list_units(level, parent, limit, kind)]

    @rpc
    def shapes(self, level: str = "grid", limit: int = 2000) -> Any:
        """Outlines of the units of a level, for the console's map (no tile server needed)."""
        return self._index().shapes(level, min(max(limit, 1), 5000))

    @rpc
    def outlines(self) -> Any:
        """Every unit of every level and kind with its outline, in one GeoJSON
        FeatureCollection (``contracts.mapping.TerritoryOutlines``), for the console's map."""
        return self._index().outlines

    @rpc
    def chain(self, code: str) -> Any:
        """The unit and its ancestors up to the district, nearest first; [] if unknown."""
        return [unit.model_dump() for unit in self._index().chain(code)]

    @rpc
    def locate(
        self,
        lat: float | None = None,
        lon: float | None = None,
        grid_code: str | None = None,
        address: str | None = None,
    ) -> Any:
        """A ``Location``: the chain micro-grid → district and the exclusive grids there."""
        return self._index().locate(lat, lon, grid_code, address).model_dump(mode="json")

    @rpc
    def locate_all(self, places: list[dict[str, Any]]) -> Any:
        """``locate`` for many places in one call, answers in the same order: dispatch routes
        a burst of cases with one round trip instead of one a case."""
        index, wanted = self._index(), ("lat", "lon", "grid_code", "address")
        return [
            index.locate(*(place.get(key) for key in wanted)).model_dump(mode="json")
            for place in places
        ]

    @rpc
    def staff(self, code: str, role: str | None = None) -> Any:
        """The people of a unit (一格四员, 微网格员, supervisors), phones masked."""
        return [person.model_dump() for person in self._index().staff(code, role)]

    @rpc
    def contacts(self, code: str, role: str | None = None) -> Any:
        """The same people with their numbers sealed, for notify to open when it sends."""
        with self.db.read() as session:
            return GridRepository(session).contacts(code, role)

    @rpc
    def departments_for(
        self, category: str, level: str | None = None, unit: str | None = None
    ) -> Any:
        """Who handles a category at a level (the duty list), leads first."""
        duties = self._index().departments_for(category, level, unit)
        return [duty.model_dump() for duty in duties]

    @rpc
    def categories(self) -> Any:
        """The category catalogue (what Open311 ``services.json`` lists)."""
        return [entry.model_dump() for entry in self._index().category_catalogue()]

    @timer(REFRESH_SECONDS)
    def refresh(self) -> None:
        self.territory.refresh(self.db.read)

    @on_event(GRID_UNIT_CHANGED, GRID_STAFF_CHANGED)
    def territory_changed(self, event: Envelope[Any]) -> None:
        self.territory.refresh(self.db.read)
