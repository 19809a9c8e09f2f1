"""cases and their history

Revision ID: dispatch_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime
from kit.migrations import create_kit_tables

revision = "dispatch_0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64)),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("assignee", sa.JSON),
        sa.Column("level", sa.String(16)),
        sa.Column("deadlines", sa.JSON),
        sa.Column("suggestion", sa.JSON),
        sa.Column("alternatives", sa.JSON, nullable=False),
        sa.Column("resolve_seconds", sa.Integer),
        sa.Column("routing_rule", sa.String(64), nullable=False),
        sa.Column("routing_reason", sa.Text, nullable=False),
        sa.Column("received", sa.JSON, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_cases_status_received", "cases", ["status", "received_at"])
    op.create_table(
        "case_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), sa.ForeignKey("cases.case_id"), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(24)),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_case_history_case_id", "case_history", ["case_id"])


def downgrade() -> None:
    op.drop_table("case_history")
    op.drop_table("cases")
