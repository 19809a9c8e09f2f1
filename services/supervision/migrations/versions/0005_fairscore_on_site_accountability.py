"""a fair score: on-site resolutions counted per grid (就地化解), accountability records (问责记录)

Revision ID: supervision_fairscore_0005
Revises: supervision_assessment_days
"""

import sqlalchemy as sa
from alembic import op

from kit.db import UtcDateTime

revision = "supervision_fairscore_0005"
down_revision = "supervision_assessment_days"


def upgrade() -> None:
    # days counted before: no on-site resolution was credited then, 0 is their truth
    with op.batch_alter_table("assessment_days") as table:
        table.add_column(
            sa.Column("resolved_on_site", sa.Integer, nullable=False, server_default="0")
        )
    op.create_table(
        "accountability_records",
        sa.Column("record_id", sa.String(64), primary_key=True),
        sa.Column("order_id", sa.String(64), nullable=False, index=True),
        sa.Column("case_id", sa.String(32), nullable=False, index=True),
        sa.Column("assignee", sa.JSON, nullable=True),
        sa.Column("person", sa.String(64), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", UtcDateTime, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("accountability_records")
    with op.batch_alter_table("assessment_days") as table:
        table.drop_column("resolved_on_site")
