"""sealed phones and fingerprints; the status projection; callbacks

Revision ID: intake_0002
Revises: intake_0001
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "intake_0002"
down_revision = "intake_0001"


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("reporter_phone_sealed", sa.Text))
        batch.add_column(sa.Column("reporter_fingerprint", sa.String(64)))
        batch.add_column(sa.Column("risk", sa.String(8), nullable=False, server_default="blue"))
    op.create_index(
        "ix_submissions_reporter", "submissions", ["reporter_fingerprint", "received_at"]
    )
    op.create_table(
        "case_status",
        sa.Column("case_id", sa.String(32), sa.ForeignKey("submissions.case_id"), primary_key=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("status_at", UtcDateTime, nullable=False),
        sa.Column("assignee", sa.JSON),
        sa.Column("level", sa.String(16)),
        sa.Column("deadlines", sa.JSON),
    )
    op.create_table(
        "case_timeline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24)),
        sa.Column("note", sa.Text),
        sa.UniqueConstraint("event_id", name="uq_timeline_event"),
    )
    op.create_index("ix_case_timeline_case_id", "case_timeline", ["case_id"])
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("delivered_at", UtcDateTime),
        sa.Column("failed_at", UtcDateTime),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("source", "event_id", name="uq_callback_once"),
    )
    op.create_index("ix_callbacks_due", "callbacks", ["delivered_at", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("callbacks")
    op.drop_table("case_timeline")
    op.drop_table("case_status")
    op.drop_index("ix_submissions_reporter", "submissions")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("risk")
        batch.drop_column("reporter_fingerprint")
        batch.drop_column("reporter_phone_sealed")
