"""Grid's entrypoints: reads of the territory over RPC."""

from __future__ import annotations

from typing import Any

from contracts.rpc import GridUnit
from kit.base import ServiceBase
from kit.providers import Database
from kit.rpc import rpc
from services.grid.models import TABLES, UnitRow
from services.grid.repository import UnitRepository


def as_contract(row: UnitRow) -> dict[str, Any]:
    unit = GridUnit(code=row.code, name=row.name, level=row.level, parent=row.parent)
    return unit.model_dump()


class GridService(ServiceBase):
    name = "grid"
    db = Database(TABLES)

    @rpc
    def units(self, level: str | None = None, parent: str | None = None, limit: int = 100) -> Any:
        with self.db.read() as session:
            rows = UnitRepository(session).find(level, parent, min(max(limit, 1), 5000))
            return [as_contract(row) for row in rows]

    @rpc
    def chain(self, code: str) -> Any:
        """The unit and its ancestors up to the district, nearest first; [] if unknown."""
        chain = []
        with self.db.read() as session:
            repository = UnitRepository(session)
            row = repository.get(code)
            while row is not None:
                chain.append(as_contract(row))
                row = repository.get(row.parent) if row.parent else None
        return chain
