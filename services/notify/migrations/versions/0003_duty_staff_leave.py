"""staff leave (请假) as the console records it, so that a person's alerts go to their deputy

Revision ID: notify_0003_duty
Revises: notify_0002
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "notify_0003_duty"
down_revision = "notify_0002"


def upgrade() -> None:
    op.create_table(
        "staff_leave",
        sa.Column("leave_id", sa.String(64), primary_key=True),
        sa.Column("person", sa.String(80), nullable=False),
        sa.Column("starts", UtcDateTime, nullable=False),
        sa.Column("ends", UtcDateTime, nullable=False),
    )
    op.create_index("ix_staff_leave_person", "staff_leave", ["person"])
    op.create_index("ix_staff_leave_ends", "staff_leave", ["ends"])


def downgrade() -> None:
    op.drop_table("staff_leave")
