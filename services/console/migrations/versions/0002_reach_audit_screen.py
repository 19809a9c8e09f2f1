"""users' display names, login throttling, the audit of phone views, the big screen's counts

Revision ID: console_0002
Revises: console_0001
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "console_0002"
down_revision = "console_0001"


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("display", sa.String(64), nullable=False, server_default=""))
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
    )
    op.create_table(
        "phone_views",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("metric", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("daily_counts", "phone_views", "login_failures"):
        op.drop_table(table)
    with op.batch_alter_table("users") as table:
        table.drop_column("display")
