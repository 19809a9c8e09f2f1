"""deliveries that retry, wait for quiet hours and limits, and take receipts; rate buckets;
revisits by SMS; the cases notify follows

Revision ID: notify_0002
Revises: notify_0001
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "notify_0002"
down_revision = "notify_0001"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as table:
        table.add_column(
            sa.Column("trigger_type", sa.String(48), nullable=False, server_default="")
        )
        table.add_column(sa.Column("template", sa.String(64), nullable=False, server_default=""))
        table.add_column(sa.Column("params", sa.JSON))
        table.add_column(sa.Column("address_sealed", sa.Text))
        table.add_column(sa.Column("recipient_fingerprint", sa.String(64)))
        table.add_column(sa.Column("segments", sa.Integer, nullable=False, server_default="1"))
        table.add_column(sa.Column("next_attempt_at", UtcDateTime))
        table.add_column(sa.Column("updated_at", UtcDateTime))
        table.add_column(sa.Column("error_code", sa.String(64)))
        table.add_column(sa.Column("last_error", sa.Text))
        table.add_column(sa.Column("receipt_status", sa.String(16)))
        table.add_column(sa.Column("receipt_code", sa.String(64)))
        table.add_column(sa.Column("receipt_at", UtcDateTime))
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_deliveries_provider_message", "deliveries", ["provider_message_id"])
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    op.create_table(
        "revisits",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
        sa.Column("asked_at", UtcDateTime, nullable=False),
        sa.Column("answered_at", UtcDateTime),
        sa.Column("answer", sa.String(24)),
    )
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("assignee", sa.JSON),
        sa.Column("territory", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for table in ("cases", "revisits", "rate_buckets"):
        op.drop_table(table)
    op.drop_index("ix_deliveries_provider_message", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
