"""the centre's desk: who received a case (首问负责), and the later matters repeating a case

Revision ID: dispatch_desk_0004
Revises: dispatch_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "dispatch_desk_0004"
down_revision = "dispatch_0004"


def upgrade() -> None:
    # Cases received before the desk existed were received by no one: NULL is their truth.
    with op.batch_alter_table("cases") as table:
        table.add_column(sa.Column("received_by", sa.String(64), nullable=True))
        table.create_index("ix_cases_received_by", ["received_by"])
    op.create_table(
        "case_repeats",
        sa.Column("case_id", sa.String(32), primary_key=True),
        sa.Column("repeat_id", sa.String(32), primary_key=True),
    )
    op.create_index("ix_case_repeats_repeat_id", "case_repeats", ["repeat_id"])


def downgrade() -> None:
    op.drop_index("ix_case_repeats_repeat_id", "case_repeats")
    op.drop_table("case_repeats")
    with op.batch_alter_table("cases") as table:
        table.drop_index("ix_cases_received_by")
        table.drop_column("received_by")
