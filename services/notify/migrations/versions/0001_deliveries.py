"""deliveries

Revision ID: notify_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime
from kit.migrations import create_kit_tables

revision = "notify_0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("trigger_event_id", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(32)),
        sa.Column("recipient_key", sa.String(128), nullable=False),
        sa.Column("recipient_masked", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("provider_message_id", sa.String(128)),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime),
        sa.UniqueConstraint(
            "trigger_event_id", "recipient_key", "channel", name="uq_delivery_once"
        ),
    )
    op.create_index("ix_deliveries_case_id", "deliveries", ["case_id"])


def downgrade() -> None:
    op.drop_table("deliveries")
