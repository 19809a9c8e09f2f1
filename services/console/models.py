"""Console's tables: staff users, login throttling, the phone-view audit, the screen's counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, String
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


class DailyCount(Base):
    """The big screen's figures of a (Beijing) day: received by line, dispatched, overdue…"""

    __tablename__ = "daily_counts"

    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


TABLES = kit_tables(Base.metadata)
