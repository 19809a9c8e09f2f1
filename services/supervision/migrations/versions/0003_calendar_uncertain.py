"""clocks flagged when their working days fell in a year the calendar does not know

Revision ID: supervision_0003
Revises: supervision_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "supervision_0003"
down_revision = "supervision_0002"


def upgrade() -> None:
    # clocks opened before this revision were counted on a calendar that knew their years
    with op.batch_alter_table("clocks") as batch:
        batch.add_column(
            sa.Column("calendar_uncertain", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("clocks") as batch:
        batch.drop_column("calendar_uncertain")
