"""Notify's tables: one delivery record per (event, recipient, channel), written before the call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import UtcDateTime, kit_tables


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("trigger_event_id", "recipient_key", "channel", name="uq_delivery_once"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_provider_message", "provider_message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trigger_event_id: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str | None] = mapped_column(String(32), index=True)
    recipient_key: Mapped[str] = mapped_column(String(128))
    recipient_masked: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    trigger_type: Mapped[str] = mapped_column(String(48), default="")
    template: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict[str, str] | None] = mapped_column(JSON)
    """The template's variables, for providers that send only registered templates."""
    address_sealed: Mapped[str | None] = mapped_column(Text)
    """The number or openid, sealed: kept for the retries, opened only to send."""
    recipient_fingerprint: Mapped[str | None] = mapped_column(String(64))
    segments: Mapped[int] = mapped_column(Integer, default=1)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error_code: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt_status: Mapped[str | None] = mapped_column(String(16))
    receipt_code: Mapped[str | None] = mapped_column(String(64))
    receipt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class RateBucket(Base):
    """A token bucket shared by every notify instance: one per provider, one per recipient."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)
    """Epoch seconds of the last take."""


class Revisit(Base):
    """回访 by SMS: the question sent to a citizen, and the answer their reply gave."""

    __tablename__ = "revisits"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answer: Mapped[str | None] = mapped_column(String(24))


class FollowedCase(Base):
    """What notify's texts need of a case: its risk, a summary, who holds it, where it is."""

    __tablename__ = "cases"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    risk: Mapped[str] = mapped_column(String(8), default="blue")
    summary: Mapped[str] = mapped_column(Text, default="")
    assignee: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    territory: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


class StaffLeave(Base):
    """请假 as the console recorded it (``staff.leave_recorded``): while it lasts, the person's
    alerts go to their deputy (AB岗). A cancelled leave is deleted."""

    __tablename__ = "staff_leave"

    leave_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(String(80), index=True)
    starts: Mapped[datetime] = mapped_column(UtcDateTime)
    ends: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


TABLES = kit_tables(Base.metadata)
