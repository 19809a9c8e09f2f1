"""Supervision's tables: clocks are rows, so a restart misses nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import UtcDateTime, kit_tables


class Base(DeclarativeBase):
    pass


class FollowedCase(Base):
    """What supervision knows of a case: enough to scope alerts and set new limits."""

    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(8), default="blue")
    territory: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    assignment_id: Mapped[str | None] = mapped_column(String(64))
    """The assignment holding the case now (None while it waits for dispatch)."""
    climbs: Mapped[int] = mapped_column(Integer, default=0)
    """Escalations so far: the ladder caps the automatic ones."""


class Assignment(Base):
    """One dispatch of a case to one unit: what 一单考评 scores."""

    __tablename__ = "assignments"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The ``case.dispatched`` event id."""
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    assignee_kind: Mapped[str] = mapped_column(String(16))
    assignee_code: Mapped[str] = mapped_column(String(64), index=True)
    assignee_name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    dispatched_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(16))
    returned: Mapped[bool] = mapped_column(Boolean, default=False)
    concluded: Mapped[bool] = mapped_column(Boolean, default=False)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    satisfaction: Mapped[str | None] = mapped_column(String(24))


LATE_ON_POSTGRESQL = "state IN ('open', 'paused') AND overdue IS true"
LATE_ON_SQLITE = "state IN ('open', 'paused') AND overdue IS 1"
"""The running late clocks (the overdue board's), as each database is asked for them."""


class ClockRow(Base):
    __tablename__ = "clocks"
    __table_args__ = (
        UniqueConstraint("owner", "kind", name="uq_clock_owner_kind"),
        Index("ix_clocks_open_next_due", "state", "next_due_at"),
        Index(
            "ix_clocks_late",
            "due_at",
            "id",
            postgresql_where=text(LATE_ON_POSTGRESQL),
            sqlite_where=text(LATE_ON_SQLITE),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    owner: Mapped[str] = mapped_column(String(64))
    """What started it: an assignment (the dispatch's event id), an order, an escalation."""
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(16))
    assignee_code: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    warn_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    planned_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """The limit as dispatched: extensions are worked out from it again whenever a fact lands."""
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    warned: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_asked: Mapped[bool] = mapped_column(Boolean, default=False)
    calendar_uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    """Its working days fell in a year the working calendar does not know: counted Monday to
    Friday, so its limit may be a holiday or miss a make-up working day."""


class Alert(Base):
    """One alert raised: the unique key makes each fire once, however many scanners run."""

    __tablename__ = "alerts"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    event_id: Mapped[str] = mapped_column(String(64))


class Order(Base):
    """督办: a supervisor's order on a case, and the unit's reply."""

    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    grade: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(Text, default="")
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    assignment_id: Mapped[str | None] = mapped_column(String(64), index=True)
    assignee: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    replied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[str | None] = mapped_column(String(64))


class Mark(Base):
    """A fact about a case that may arrive before the clock it acts on (an accept before its
    dispatch): kept, and applied when the clock opens."""

    __tablename__ = "marks"
    __table_args__ = (Index("ix_marks_what_at", "what", "at"),)  # a period's conclusions

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    what: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscriber: Mapped[str] = mapped_column(String(64), index=True)
    kinds: Mapped[list[str]] = mapped_column(JSON)
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_value: Mapped[str | None] = mapped_column(String(64))
    channels: Mapped[list[str]] = mapped_column(JSON)
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    wechat_sealed: Mapped[str | None] = mapped_column(Text)
    queue: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ScannerLease(Base):
    """Who scans the clocks on SQLite, where one scanner runs at a time."""

    __tablename__ = "scanner_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class UnitCounters:
    """一单考评's counters of a unit (``tallied.TALLIED``), in a day's row or a month's."""

    assignee_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    assignee_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    assignee_name: Mapped[str] = mapped_column(String(200))
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[int] = mapped_column(Integer, default=0)
    concluded: Mapped[int] = mapped_column(Integer, default=0)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    revisited: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)
    respond_on_time: Mapped[int] = mapped_column(Integer, default=0)
    respond_late: Mapped[int] = mapped_column(Integer, default=0)
    feedback_on_time: Mapped[int] = mapped_column(Integer, default=0)
    feedback_late: Mapped[int] = mapped_column(Integer, default=0)
    resolve_on_time: Mapped[int] = mapped_column(Integer, default=0)
    resolve_late: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    orders_normal: Mapped[int] = mapped_column(Integer, default=0)
    orders_yellow: Mapped[int] = mapped_column(Integer, default=0)
    orders_red: Mapped[int] = mapped_column(Integer, default=0)
    resolved_on_site: Mapped[int] = mapped_column(Integer, default=0)
    """就地化解: the grid's on-site resolutions (each counted dispatched and concluded too)."""


class AssessmentDay(UnitCounters, Base):
    """一单考评's counters: a unit's figures of the dispatches it received on a Beijing day,
    kept as its clocks stop and fall overdue; a day's assessment reads them (a month's, a
    quarter's and a year's, ``AssessmentMonth``). The centre's
    desk (直办) has its row too (kind ``desk``, code ``centre``, nothing dispatched): the cases
    first concluded there that day, ``concluded``, and of those ``revisited`` and
    ``satisfied`` by their last answer (``tallies.desk_tally``)."""

    __tablename__ = "assessment_days"

    day: Mapped[str] = mapped_column(String(10), primary_key=True, sort_order=-1)


class AssessmentMonth(UnitCounters, Base):
    """The same counters summed by Beijing month, added in the same upsert as the days': a
    month, a quarter or a year sums at most 12 rows a unit instead of 365."""

    __tablename__ = "assessment_months"

    month: Mapped[str] = mapped_column(String(7), primary_key=True, sort_order=-1)
    """``YYYY-MM``."""
    last_day: Mapped[str] = mapped_column(String(10))
    """The month's latest day counted: the row carries that day's name, as the days' rows would
    name the unit by the last of them."""


class AssignmentTally(Base):
    """What one assignment has added to ``assessment_days`` so far, and under which key: the
    next change adds only the difference, so a fact handled twice counts once."""

    __tablename__ = "assignment_tallies"

    assignment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    assignee_kind: Mapped[str] = mapped_column(String(16))
    assignee_code: Mapped[str] = mapped_column(String(64))
    assignee_name: Mapped[str] = mapped_column(String(200))
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class AccountabilityRecord(Base):
    """问责记录: opened on a red card (红牌督办): who is held to account, for what, and the
    decision taken; listed in 一单考评."""

    __tablename__ = "accountability_records"

    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    assignee: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The unit the red card was given to (as the order named it)."""
    person: Mapped[str] = mapped_column(String(64))
    what: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


TABLES = kit_tables(Base.metadata)
