"""the big screen's counters by day and dimension, the cases it places, its ticker

Revision ID: console_screen_tallies
Revises: console_0003_notes_files
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "console_screen_tallies"
down_revision = "console_0003_notes_files"


def upgrade() -> None:
    op.create_table(
        "screen_tallies",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("metric", sa.String(24), primary_key=True),
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "screen_cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("day", sa.String(10), nullable=False, index=True),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("street", sa.String(64)),
        sa.Column("grid", sa.String(64)),
        sa.Column("resolve_by", UtcDateTime),
    )
    op.create_table(
        "screen_ticker",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("at", UtcDateTime, nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(200), nullable=False),
        sa.Column("detail", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("screen_ticker", "screen_cases", "screen_tallies"):
        op.drop_table(table)
