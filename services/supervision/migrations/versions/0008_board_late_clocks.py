"""The overdue board at scale: the running late clocks found by their limits

Revision ID: supervision_board_late_clocks
Revises: supervision_deskcount_desk_days

The board counts the running late clocks and lists a page of them in the order of their
limits: without this index, a scan of every clock (millions at 2,000,000 cases) for each
call. Partial: only the late clocks still running are in it, a few in a hundred.
"""

import sqlalchemy as sa
from alembic import op

revision = "supervision_board_late_clocks"
down_revision = "supervision_deskcount_desk_days"

LATE_ON_POSTGRESQL = "state IN ('open', 'paused') AND overdue IS true"
LATE_ON_SQLITE = "state IN ('open', 'paused') AND overdue IS 1"


def upgrade() -> None:
    op.create_index(
        "ix_clocks_late", "clocks", ["due_at", "id"],
        postgresql_where=sa.text(LATE_ON_POSTGRESQL), sqlite_where=sa.text(LATE_ON_SQLITE),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_clocks_late", table_name="clocks")
