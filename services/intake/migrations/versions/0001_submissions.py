"""submissions, outbox, processed events

Revision ID: intake_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime
from kit.migrations import create_kit_tables

revision = "intake_0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "submissions",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("external_id", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("case", sa.JSON, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("source", "external_id", name="uq_submission_source_id"),
    )


def downgrade() -> None:
    op.drop_table("submissions")
