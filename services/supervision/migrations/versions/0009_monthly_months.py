"""一单考评's counters by month beside the days': a year sums 12 rows a unit, not 365

Revision ID: supervision_monthly_months
Revises: supervision_board_late_clocks

``assessment_months`` holds each unit's days summed by Beijing month (``YYYY-MM``, the first
seven characters of the day), named as its latest day (``last_day``); filled here from the days
counted so far, then kept in the same upsert as the days (``counting.add_to_days``).
"""

import sqlalchemy as sa
from alembic import op

revision = "supervision_monthly_months"
down_revision = "supervision_board_late_clocks"

TALLIED = (
    "dispatched", "returned", "concluded", "reopened", "revisited", "satisfied",
    "respond_on_time", "respond_late", "feedback_on_time", "feedback_late",
    "resolve_on_time", "resolve_late", "overdue", "orders_normal", "orders_yellow", "orders_red",
    "resolved_on_site",
)  # fmt: skip
UNIT = ("assignee_kind", "assignee_code")
MONTH_COLUMNS = ("month", *UNIT, "assignee_name", "last_day", *TALLIED)
DAYS = sa.table("assessment_days", sa.column("day"), sa.column("assignee_name"),
                *(sa.column(name) for name in (*UNIT, *TALLIED)))  # fmt: skip
MONTHS = sa.table("assessment_months", *(sa.column(name) for name in MONTH_COLUMNS))


def upgrade() -> None:
    op.create_table(
        "assessment_months",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("assignee_kind", sa.String(16), primary_key=True),
        sa.Column("assignee_code", sa.String(64), primary_key=True),
        sa.Column("assignee_name", sa.String(200), nullable=False),
        sa.Column("last_day", sa.String(10), nullable=False),
        *(sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in TALLIED),
    )
    op.execute(MONTHS.insert().from_select(MONTH_COLUMNS, months_of_days()))


def months_of_days() -> sa.Select[tuple[object, ...]]:
    """The days summed by unit and month, with the name the unit had on its latest day."""
    month = sa.func.substr(DAYS.c.day, 1, 7)
    sums = (
        sa.select(month.label("month"), *(DAYS.c[name] for name in UNIT),
                  sa.func.max(DAYS.c.day).label("last_day"),
                  *(sa.func.sum(DAYS.c[name]).label(name) for name in TALLIED))
        .group_by(month, *(DAYS.c[name] for name in UNIT))
        .subquery()
    )  # fmt: skip
    named = DAYS.alias("named")
    on_last_day = [
        named.c.day == sums.c.last_day,
        *(named.c[name] == sums.c[name] for name in UNIT),
    ]
    return sa.select(
        sums.c.month,
        *(sums.c[name] for name in UNIT),
        named.c.assignee_name,
        sums.c.last_day,
        *(sums.c[name] for name in TALLIED),
    ).join_from(sums, named, sa.and_(*on_last_day))


def downgrade() -> None:
    op.drop_table("assessment_months")
