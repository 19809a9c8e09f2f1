"""the codes a case is within reach of (its holder, helpers and place), for scoped lists

Revision ID: dispatch_0003
Revises: dispatch_0002
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "dispatch_0003"
down_revision = "dispatch_0002"


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else (value or [])


def upgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("reach_codes", sa.Text, nullable=False, server_default=" "))
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT case_id, assignee_code, helpers, place FROM cases"))
    for case_id, assignee, helpers, place in rows.fetchall():
        codes = [assignee] if assignee else []
        codes += [h["unit"]["code"] for h in _loaded(helpers)]
        codes += [unit["code"] for unit in _loaded(place)]
        connection.execute(
            sa.text("UPDATE cases SET reach_codes = :codes WHERE case_id = :case_id"),
            {"codes": " " + " ".join(codes) + " ", "case_id": case_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_column("reach_codes")
