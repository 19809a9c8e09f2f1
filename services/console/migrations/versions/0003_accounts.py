"""token versions per user (sign out everywhere, password change) and stream tickets

Revision ID: console_0003_accounts
Revises: console_0002
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "console_0003_accounts"
down_revision = "console_0002"


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("token_version", sa.Integer, nullable=False, server_default="0"))
        table.add_column(sa.Column("kept_token", sa.String(32)))
    op.create_table(
        "stream_tickets",
        sa.Column("ticket_hash", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, index=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("unit", sa.String(64)),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("token_id", sa.String(32)),
        sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("stream_tickets")
    with op.batch_alter_table("users") as table:
        table.drop_column("kept_token")
        table.drop_column("token_version")
