"""clocks per owner, assignments, alerts, orders, marks, subscriptions, the scanner lease

Revision ID: supervision_0002
Revises: supervision_0001
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "supervision_0002"
down_revision = "supervision_0001"


def upgrade() -> None:
    # Clocks were unique per (case, kind, level): a case dispatched twice at one level (after a
    # return) could not get its second clocks. They are now unique per owner (the dispatch,
    # order or escalation that started them). Rows already there keep their times.
    op.drop_index("ix_clocks_open_next_due", table_name="clocks")
    op.drop_index("ix_clocks_case_id", table_name="clocks")
    op.rename_table("clocks", "clocks_v1")
    op.create_table(
        "clocks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("assignee_code", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("warn_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("planned_due_at", UtcDateTime, nullable=False),
        sa.Column("next_due_at", UtcDateTime),
        sa.Column("stopped_at", UtcDateTime),
        sa.Column("cancelled_at", UtcDateTime),
        sa.Column("paused_at", UtcDateTime),
        sa.Column("warned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("overdue", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("escalation_asked", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.UniqueConstraint("owner", "kind", name="uq_clock_owner_kind"),
    )
    op.execute(
        "INSERT INTO clocks (case_id, owner, kind, level, assignee_code, state, started_at,"
        " warn_at, due_at, planned_due_at, next_due_at, stopped_at)"
        " SELECT case_id, 'v1:' || case_id || ':' || level, kind, level, assignee_code, state,"
        " started_at, warn_at, due_at, due_at, next_due_at, stopped_at FROM clocks_v1"
    )
    op.drop_table("clocks_v1")
    op.create_index("ix_clocks_case_id", "clocks", ["case_id"])
    op.create_index("ix_clocks_open_next_due", "clocks", ["state", "next_due_at"])

    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(16)),
        sa.Column("category", sa.String(64)),
        sa.Column("risk", sa.String(8), nullable=False),
        sa.Column("territory", sa.JSON, nullable=False),
        sa.Column("assignment_id", sa.String(64)),
        sa.Column("climbs", sa.Integer, nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("assignee_kind", sa.String(16), nullable=False),
        sa.Column("assignee_code", sa.String(64), nullable=False, index=True),
        sa.Column("assignee_name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("dispatched_at", UtcDateTime, nullable=False, index=True),
        sa.Column("ended_at", UtcDateTime),
        sa.Column("ended_by", sa.String(16)),
        sa.Column("returned", sa.Boolean, nullable=False),
        sa.Column("concluded", sa.Boolean, nullable=False),
        sa.Column("reopened", sa.Boolean, nullable=False),
        sa.Column("satisfaction", sa.String(24)),
    )
    op.create_table(
        "alerts",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("raised_at", UtcDateTime, nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("grade", sa.String(8), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", UtcDateTime, nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("assignment_id", sa.String(64), index=True),
        sa.Column("assignee", sa.JSON),
        sa.Column("replied_at", UtcDateTime),
        sa.Column("reply", sa.Text),
        sa.Column("replied_by", sa.String(64)),
    )
    op.create_table(
        "marks",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("what", sa.String(24), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("detail", sa.JSON),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscriber", sa.String(64), nullable=False, index=True),
        sa.Column("kinds", sa.JSON, nullable=False),
        sa.Column("scope_kind", sa.String(16), nullable=False),
        sa.Column("scope_value", sa.String(64)),
        sa.Column("channels", sa.JSON, nullable=False),
        sa.Column("phone_sealed", sa.Text),
        sa.Column("phone_masked", sa.String(20)),
        sa.Column("wechat_sealed", sa.Text),
        sa.Column("queue", sa.String(200)),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "scanner_lease",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("scanner_lease", "subscriptions", "marks", "orders", "alerts"):
        op.drop_table(table)
    for table in ("assignments", "cases"):
        op.drop_table(table)
