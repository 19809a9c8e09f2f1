"""the whole lifecycle: helpers, extensions, verification, revisits, merges, place

Revision ID: dispatch_0002
Revises: dispatch_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "dispatch_0002"
down_revision = "dispatch_0001"

CASE_COLUMNS = (
    sa.Column("assignee_code", sa.String(64)),
    sa.Column("helpers", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("proposed_helpers", sa.JSON, nullable=False, server_default="[]"),
    sa.Column("extension", sa.JSON),
    sa.Column("verified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("returns", sa.Integer, nullable=False, server_default="0"),
    sa.Column("reopens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("merged_into", sa.String(32)),
    sa.Column("satisfaction", sa.String(24)),
    sa.Column("place", sa.JSON, nullable=False, server_default="[]"),
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for column in CASE_COLUMNS:
            batch.add_column(column)
    op.create_index("ix_cases_assignee_status", "cases", ["assignee_code", "status"])
    with op.batch_alter_table("case_history") as batch:
        batch.add_column(sa.Column("role", sa.String(32)))
        batch.add_column(sa.Column("unit", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("case_history") as batch:
        batch.drop_column("unit")
        batch.drop_column("role")
    op.drop_index("ix_cases_assignee_status", "cases")
    with op.batch_alter_table("cases") as batch:
        for column in reversed(CASE_COLUMNS):
            batch.drop_column(column.name)
