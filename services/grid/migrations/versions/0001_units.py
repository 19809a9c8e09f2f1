"""units

Revision ID: grid_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_kit_tables

revision = "grid_0001"
down_revision = None


def upgrade() -> None:
    create_kit_tables()
    op.create_table(
        "units",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent", sa.String(32)),
    )
    op.create_index("ix_units_level", "units", ["level"])
    op.create_index("ix_units_parent", "units", ["parent"])


def downgrade() -> None:
    op.drop_table("units")
