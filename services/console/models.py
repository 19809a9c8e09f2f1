"""Console's tables: staff users (with their token version), login throttling, stream tickets,
the phone-view audit, the screen's counts and counters, the desk's cases and the notices kept
for their receivers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import UtcDateTime, kit_tables


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    dev_only: Mapped[bool] = mapped_column(Boolean, default=False)
    display: Mapped[str] = mapped_column(String(64), default="")
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    """Tokens carry the version they were issued under; a raise revokes them (签退所有设备)."""
    kept_token: Mapped[str | None] = mapped_column(String(32), default=None)
    """The one token of an older version still good: the one that changed the password."""


class LoginFailures(Base):
    """Failed logins per user and per address, in the current window."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[float] = mapped_column(Float)


class PhoneView(Base):
    """Who saw a citizen's number unmasked, when, and from where."""

    __tablename__ = "phone_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class StreamTicket(Base):
    """A short-lived, single-use ticket that opens the live stream in place of the bearer
    token, which then never travels in a URL; kept only as its hash."""

    __tablename__ = "stream_tickets"

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    token_version: Mapped[int] = mapped_column(Integer)
    token_id: Mapped[str | None] = mapped_column(String(32))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class DailyCount(Base):
    """The big screen's figures of a (Beijing) day: received by line, dispatched, overdue…"""

    __tablename__ = "daily_counts"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class DeskCase(Base):
    """A matter registered at the centre's desk, and who received it (首问负责): told when
    it is concluded."""

    __tablename__ = "desk_cases"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    received_by: Mapped[str] = mapped_column(String(64), index=True)
    summary: Mapped[str] = mapped_column(Text, default="")


class Notice(Base):
    """A notice kept for one user: a case they received at the desk was concluded, so that
    they tell the citizen."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("event_id", "username", name="uq_notice_event_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    case_id: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ScreenTally(Base):
    """The big screen's counters of a Beijing day by one dimension: ``metric`` names what is
    counted and ``key`` what it is counted by (a line, a category, a street, a grid; ``""``
    for the day's total), so a trend or a ranking sums a few days' rows, never the cases."""

    __tablename__ = "screen_tallies"
    __table_args__ = (Index("ix_screen_tallies_metric_day", "metric", "day"),)

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class ScreenCase(Base):
    """What the screen keeps of a case to count its later steps where it lies: its place,
    risk and resolve limit (one row a case, read by key; today's by ``day`` for the map)."""

    __tablename__ = "screen_cases"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    risk: Mapped[str] = mapped_column(String(8), default="blue")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    street: Mapped[str | None] = mapped_column(String(64))
    grid: Mapped[str | None] = mapped_column(String(64))
    resolve_by: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TickerItem(Base):
    """A line of the screen's ticker: an overdue case, an escalation, a red-risk alert."""

    __tablename__ = "screen_ticker"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(String(64), default="")


TABLES = kit_tables(Base.metadata)
