"""信访: a petition's own clocks (受理告知, 办理, 复查, 复核) kept on its case.

Revision ID: dispatch_petition_0006
Revises: dispatch_fairscore_0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "dispatch_petition_0006"
down_revision = "dispatch_fairscore_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("petition", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("petition")
