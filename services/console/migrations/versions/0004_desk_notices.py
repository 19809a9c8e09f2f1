"""the centre's desk: the cases registered there and who received them, and their notices

Revision ID: console_desk_0003
Revises: console_0003_accounts
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "console_desk_0003"
down_revision = "console_0003_accounts"


def upgrade() -> None:
    op.create_table(
        "desk_cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("received_by", sa.String(64), nullable=False, index=True),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("read_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("event_id", "username", name="uq_notice_event_user"),
    )


def downgrade() -> None:
    op.drop_table("notices")
    op.drop_table("desk_cases")
