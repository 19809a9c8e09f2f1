"""territory: polygons, exclusive grids, people, departments, duties, categories, revision

Revision ID: grid_0002
Revises: grid_0001
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "grid_0002"
down_revision = "grid_0001"


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="basic"))
        batch.add_column(sa.Column("exclusive_type", sa.String(32)))
        batch.add_column(sa.Column("aliases", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("geometry", sa.Text))
    op.create_table(
        "staff",
        sa.Column("unit", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(24), primary_key=True),
        sa.Column("person_id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("phone_sealed", sa.Text),
        sa.Column("phone_masked", sa.String(20)),
        sa.Column("phone_fingerprint", sa.String(64)),
        sa.Column("wechat", sa.String(64)),
    )
    op.create_index("ix_staff_phone_fingerprint", "staff", ["phone_fingerprint"])
    op.create_table(
        "departments",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(32)),
        sa.Column("phone_sealed", sa.Text),
        sa.Column("phone_masked", sa.String(20)),
        sa.Column("phone_fingerprint", sa.String(64)),
        sa.Column("contact", sa.String(100)),
    )
    op.create_table(
        "duties",
        sa.Column("department", sa.String(32), primary_key=True),
        sa.Column("category", sa.String(64), primary_key=True),
        sa.Column("level", sa.String(16), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
    )
    op.create_table(
        "categories",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent", sa.String(64)),
        sa.Column("department", sa.String(32)),
        sa.Column("level", sa.String(16)),
        sa.Column("resolve", sa.String(32)),
        sa.Column("risk", sa.String(8)),
        sa.Column("keywords", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_table(
        "revision",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("changed_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("revision", "categories", "duties", "departments", "staff"):
        op.drop_table(table)
    with op.batch_alter_table("units") as batch:
        for column in ("geometry", "aliases", "exclusive_type", "kind"):
            batch.drop_column(column)
