"""The demo county and its staff, loaded by ``civicflow demo`` (and ``make run``)."""

from __future__ import annotations

from sqlalchemy import select

from kit.db import Store
from kit.pii import load_vault
from kit.settings import Settings
from services.console.domain import hash_password
from services.console.models import TABLES as CONSOLE_TABLES
from services.console.models import User
from services.console.repository import UserRepository
from services.grid.models import TABLES as GRID_TABLES
from services.grid.models import UnitRow
from services.grid.transfer import load_demo as load_demo_territory

DEV_USERS: tuple[tuple[str, str, str, str | None, str], ...] = (
    ("admin", "admin", "admin", None, "管理员"),
    ("operator", "operator", "operator", None, "派单员"),
    ("hbj", "hbj", "handler", "D-HBJ", "市生态环境局县分局"),
    ("zjj", "zjj", "handler", "D-ZJJ", "县住房和城乡建设局"),
    ("street", "street", "supervisor", "S-001", "城关街道督查"),
)
"""Dev only (refused outside dev): username, password, role, unit, display. A grid worker for
the first grid is added from the territory."""


def load_demo(settings: Settings) -> dict[str, int]:
    grid = Store(settings.database_url_for("grid"), "grid", GRID_TABLES)
    console = Store(settings.database_url_for("console"), "console", CONSOLE_TABLES)
    try:
        territory = load_demo_territory(grid, settings, load_vault(settings))
        units = territory.counts["units"]
        with grid.read() as session:
            first_grid = session.scalar(
                select(UnitRow.code).where(UnitRow.level == "grid").order_by(UnitRow.code).limit(1)
            )
        people = [*DEV_USERS, ("grid", "grid", "grid_worker", first_grid, "网格员")]
        with console.unit_of_work() as uow:
            users = UserRepository(uow.session)
            for username, password, role, unit, display in people:
                users.put(
                    User(
                        username=username, password_hash=hash_password(password), role=role,
                        unit=unit, dev_only=True, display=display,
                    )
                )  # fmt: skip
            uow.commit()
    finally:
        grid.dispose()
        console.dispose()
    return {"units": units, "users": len(people)}
