"""The demo county and its staff, loaded by ``civicflow demo`` (and ``make run``)."""

from __future__ import annotations

from kit.db import Store
from kit.pii import load_vault
from kit.settings import Settings
from services.console.domain import hash_password
from services.console.models import TABLES as CONSOLE_TABLES
from services.console.models import User
from services.console.repository import UserRepository
from services.grid.models import TABLES as GRID_TABLES
from services.grid.transfer import load_demo as load_demo_territory

DEV_USERS = (("admin", "admin", "admin"),)


def load_demo(settings: Settings) -> dict[str, int]:
    grid = Store(settings.database_url_for("grid"), "grid", GRID_TABLES)
    console = Store(settings.database_url_for("console"), "console", CONSOLE_TABLES)
    try:
        territory = load_demo_territory(grid, settings, load_vault(settings))
        units = territory.counts["units"]
        with console.unit_of_work() as uow:
            users = UserRepository(uow.session)
            for username, password, role in DEV_USERS:
                users.put(
                    User(
                        username=username,
                        password_hash=hash_password(password),
                        role=role,
                        unit=None,
                        dev_only=True,
                    )
                )
            uow.commit()
    finally:
        grid.dispose()
        console.dispose()
    return {"units": units, "users": len(DEV_USERS)}
