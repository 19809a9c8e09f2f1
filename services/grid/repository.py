"""Grid's repository."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from services.grid.domain import Unit
from services.grid.models import UnitRow


class UnitRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def replace_all(self, units: Iterable[Unit]) -> int:
        rows = [
            {"code": u.code, "name": u.name, "level": u.level, "parent": u.parent} for u in units
        ]
        self.session.execute(delete(UnitRow))
        if rows:
            self.session.execute(insert(UnitRow), rows)
        return len(rows)

    def find(self, level: str | None, parent: str | None, limit: int) -> list[UnitRow]:
        query = select(UnitRow).order_by(UnitRow.code).limit(limit)
        if level:
            query = query.where(UnitRow.level == level)
        if parent:
            query = query.where(UnitRow.parent == parent)
        return list(self.session.scalars(query))

    def get(self, code: str) -> UnitRow | None:
        return self.session.get(UnitRow, code)
