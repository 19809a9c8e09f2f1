"""一单考评's counters: a unit's figures per Beijing day, and what each assignment added

Revision ID: supervision_assessment_days
Revises: supervision_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "supervision_assessment_days"
down_revision = "supervision_0003"

TALLIED = (
    "dispatched", "returned", "concluded", "reopened", "revisited", "satisfied",
    "respond_on_time", "respond_late", "feedback_on_time", "feedback_late",
    "resolve_on_time", "resolve_late", "overdue", "orders_normal", "orders_yellow", "orders_red",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "assessment_days",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("assignee_kind", sa.String(16), primary_key=True),
        sa.Column("assignee_code", sa.String(64), primary_key=True),
        sa.Column("assignee_name", sa.String(200), nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in TALLIED),
    )
    op.create_table(
        "assignment_tallies",
        sa.Column("assignment_id", sa.String(64), primary_key=True),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("assignee_kind", sa.String(16), nullable=False),
        sa.Column("assignee_code", sa.String(64), nullable=False),
        sa.Column("assignee_name", sa.String(200), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("assignment_tallies")
    op.drop_table("assessment_days")
