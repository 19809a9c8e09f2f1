"""a fair score: the return waiting for the centre's check (退单审核) and the appeal of an
"unsatisfied" (不满意甄别)

Revision ID: dispatch_fairscore_0006
Revises: dispatch_desk_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "dispatch_fairscore_0006"
down_revision = "dispatch_desk_0004"


def upgrade() -> None:
    # Returns and ratings before the review existed were never reviewed: NULL is their truth.
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("return_review", sa.JSON(), nullable=True))
        table.add_column(sa.Column("appeal", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as table:
        table.drop_column("appeal")
        table.drop_column("return_review")
