"""The big screen's counters found by metric and day

Revision ID: console_scale_tallies_by_metric
Revises: console_0007_duty_leave

The screen reads some metrics over a month and others over a week; the key (day, metric, key)
serves only the day range, so every row of the month (a grid's a day is most of them) was
read to keep a tenth.
"""

from alembic import op

revision = "console_scale_tallies_by_metric"
down_revision = "console_0007_duty_leave"


def upgrade() -> None:
    op.create_index("ix_screen_tallies_metric_day", "screen_tallies", ["metric", "day"])


def downgrade() -> None:
    op.drop_index("ix_screen_tallies_metric_day", table_name="screen_tallies")
