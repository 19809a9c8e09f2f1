"""staff leave (请假) recorded in the console, for AB岗

Revision ID: console_0007_duty_leave
Revises: console_screen_tallies
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "console_0007_duty_leave"
down_revision = "console_screen_tallies"


def upgrade() -> None:
    op.create_table(
        "staff_leave",
        sa.Column("leave_id", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(80), nullable=False),
        sa.Column("starts", UtcDateTime, nullable=False),
        sa.Column("ends", UtcDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_staff_leave_person", "staff_leave", ["person"])
    op.create_index("ix_staff_leave_ends", "staff_leave", ["ends"])


def downgrade() -> None:
    op.drop_table("staff_leave")
