"""search and keyset paging: the list's indexes, the reach table for scope and ``unit``, the
search terms with their full-text index, and the next limit due

Revision ID: dispatch_0004
Revises: dispatch_0003

``reach_codes`` (read with ``LIKE '% CODE %'``, which no index serves) gives way to
``case_reach``, filled here for the cases already stored, as are their search terms and
their ``due_at``.
"""

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime
from services.dispatch.models import OPEN_LIMITS, reach_of
from services.dispatch.search import terms_of

revision = "dispatch_0004"
down_revision = "dispatch_0003"

LIST_INDEXES = {
    "ix_cases_received": ["received_at", "case_id"],
    "ix_cases_status_received": ["status", "received_at", "case_id"],
    "ix_cases_channel_received": ["channel", "received_at", "case_id"],
    "ix_cases_risk_received": ["risk", "received_at", "case_id"],
    "ix_cases_category_received": ["category", "received_at", "case_id"],
    "ix_cases_due": ["due_at"],
}
BATCH = 1000


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_index("ix_cases_status_received")
        table.drop_column("reach_codes")
        table.add_column(sa.Column("search_terms", sa.Text, nullable=False, server_default=""))
        table.add_column(sa.Column("due_at", UtcDateTime))
    for name, columns in LIST_INDEXES.items():
        op.create_index(name, "cases", columns)
    op.create_table(
        "case_reach",
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.case_id"), primary_key=True),
        sa.Column("unit_code", sa.String(64), primary_key=True),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("held", sa.Boolean, nullable=False),
    )
    op.create_index("ix_case_reach_unit", "case_reach", ["unit_code", "received_at", "case_id"])
    _fill(op.get_bind())
    _index_the_terms(op.get_bind())


def _fill(connection: sa.Connection) -> None:
    """The reach rows, search terms and next limit of the cases already stored."""
    cases = sa.table(
        "cases", sa.column("case_id"), sa.column("assignee_code"), sa.column("level"),
        sa.column("helpers"), sa.column("place"), sa.column("content"), sa.column("received"),
        sa.column("received_at", UtcDateTime()), sa.column("status"), sa.column("deadlines"),
    )  # fmt: skip
    reach = sa.table(
        "case_reach", sa.column("case_id"), sa.column("unit_code"),
        sa.column("received_at", UtcDateTime()), sa.column("held"),
    )  # fmt: skip
    update = sa.text("UPDATE cases SET search_terms = :terms, due_at = :due WHERE case_id = :id")
    streamed = {"yield_per": BATCH}
    result = connection.execute(sa.select(cases), execution_options=streamed).mappings()
    while rows := result.fetchmany(BATCH):
        units, changes = [], []
        for row in rows:
            held = reach_of(row["assignee_code"], row["level"], _loaded(row["helpers"]) or [],
                            _loaded(row["place"]) or [])  # fmt: skip
            units += [{"case_id": row["case_id"], "unit_code": code,
                       "received_at": row["received_at"], "held": holds}
                      for code, holds in held.items()]  # fmt: skip
            address = (_loaded(row["received"]) or {}).get("address")
            changes.append({"id": row["case_id"], "due": _due(row["status"], row["deadlines"]),
                            "terms": terms_of(row["content"], address)})  # fmt: skip
        if units:
            connection.execute(reach.insert(), units)
        connection.execute(update.bindparams(sa.bindparam("due", type_=UtcDateTime())), changes)


def _due(status: str, deadlines: Any) -> datetime | None:
    limits = _loaded(deadlines) or {}
    running = [datetime.fromisoformat(limits[name]) for name in OPEN_LIMITS.get(status, ())
               if limits.get(name)]  # fmt: skip
    return min(running) if running else None


def _index_the_terms(connection: sa.Connection) -> None:
    """The full-text index: FTS5 kept by triggers on SQLite (the terms are written once, with
    the case); on PostgreSQL a GIN index over the terms as a 'simple' tsvector."""
    if connection.dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_cases_search ON cases "
            "USING gin (to_tsvector('simple'::regconfig, search_terms))"
        )
        return
    op.execute("CREATE VIRTUAL TABLE cases_fts USING fts5(case_id UNINDEXED, terms)")
    op.execute("INSERT INTO cases_fts (case_id, terms) SELECT case_id, search_terms FROM cases")
    op.execute(
        "CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN "
        "INSERT INTO cases_fts (case_id, terms) VALUES (new.case_id, new.search_terms); END"
    )
    op.execute(
        "CREATE TRIGGER cases_fts_update AFTER UPDATE OF search_terms ON cases BEGIN "
        "UPDATE cases_fts SET terms = new.search_terms WHERE case_id = old.case_id; END"
    )
    op.execute(
        "CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN "
        "DELETE FROM cases_fts WHERE case_id = old.case_id; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_cases_search", "cases")
    else:
        for trigger in ("cases_fts_insert", "cases_fts_update", "cases_fts_delete"):
            op.execute(f"DROP TRIGGER {trigger}")
        op.execute("DROP TABLE cases_fts")
    op.drop_table("case_reach")
    for name in LIST_INDEXES:
        op.drop_index(name, "cases")
    with op.batch_alter_table("cases") as table:
        table.drop_column("due_at")
        table.drop_column("search_terms")
        table.add_column(sa.Column("reach_codes", sa.Text, nullable=False, server_default=" "))
        table.create_index("ix_cases_status_received", ["status", "received_at"])
