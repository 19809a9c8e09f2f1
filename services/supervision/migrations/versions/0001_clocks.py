"""clocks

Revision ID: supervision_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime
from kit.migrations import create_kit_tables

revision = "supervision_0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "clocks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("assignee_code", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("warn_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("next_due_at", UtcDateTime, nullable=False),
        sa.Column("stopped_at", UtcDateTime),
        sa.UniqueConstraint("case_id", "kind", "level", name="uq_clock_case_kind_level"),
    )
    op.create_index("ix_clocks_case_id", "clocks", ["case_id"])
    op.create_index("ix_clocks_open_next_due", "clocks", ["state", "next_due_at"])


def downgrade() -> None:
    op.drop_table("clocks")
