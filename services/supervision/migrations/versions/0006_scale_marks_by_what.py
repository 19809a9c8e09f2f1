"""一单考评's desk row at scale: the marks found by what they record and when

Revision ID: supervision_scale_marks_by_what
Revises: supervision_fairscore_0005

The desk row (直办) reads a period's conclusions among every fact kept about every case:
without this index, a scan of the whole table (millions of rows at 2,000,000 cases).
"""

from alembic import op

revision = "supervision_scale_marks_by_what"
down_revision = "supervision_fairscore_0005"


def upgrade() -> None:
    op.create_index("ix_marks_what_at", "marks", ["what", "at"])


def downgrade() -> None:
    op.drop_index("ix_marks_what_at", table_name="marks")
