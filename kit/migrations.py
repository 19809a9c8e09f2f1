"""Alembic, one migration history per service, run by ``civicflow migrate``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text

from kit.db import kit_tables, make_engine

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def upgrade(service: str, url: str, revision: str = "head") -> None:
    _migrate(service, url, revision, command.upgrade)


def downgrade(service: str, url: str, revision: str) -> None:
    """Back to ``revision``: for tests of what a migration makes of rows stored before it."""
    _migrate(service, url, revision, command.downgrade)


def _migrate(service: str, url: str, revision: str, run: Callable[[Config, str], None]) -> None:
    engine = make_engine(url, service)
    try:
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{service}"'))
        config = Config()
        config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            run(config, revision)
    finally:
        engine.dispose()


def run_env() -> None:
    """The body of every service's ``migrations/env.py``."""
    from alembic import context

    connection = context.config.attributes["connection"]
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def create_kit_tables() -> None:
    """In a service's first migration: the outbox and the consumed-event ledger."""
    from alembic import op

    metadata = MetaData()
    kit_tables(metadata)
    metadata.create_all(op.get_bind())
