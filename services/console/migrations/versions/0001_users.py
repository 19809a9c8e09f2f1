"""users

Revision ID: console_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_kit_tables

revision = "console_0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(64)),
        sa.Column("dev_only", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("users")
