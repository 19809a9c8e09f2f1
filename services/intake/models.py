"""Intake's tables: what came in (once per source and external id), what became of it, and
the callbacks owed to the sources."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import UtcDateTime, kit_tables


class Base(DeclarativeBase):
    pass


class Submission(Base):
    """A matter as a source handed it over, and the case it became."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_submission_source_id"),
        Index("ix_submissions_reporter", "reporter_fingerprint", "received_at"),
        Index("ix_submissions_phone_index", "phone_index", "received_at"),
    )

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    transport: Mapped[str] = mapped_column(String(8))
    case: Mapped[dict[str, object]] = mapped_column(JSON)
    content: Mapped[str] = mapped_column(Text)
    reporter_phone_sealed: Mapped[str | None] = mapped_column(Text)
    reporter_fingerprint: Mapped[str | None] = mapped_column(String(64))
    phone_index: Mapped[str | None] = mapped_column(String(64))
    """The keyed blind index of the citizen's number (``kernel.phones``): phone search."""
    risk: Mapped[str] = mapped_column(String(8), default="blue")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseStatus(Base):
    """What dispatch and supervision said of the case, for the source that raised it."""

    __tablename__ = "case_status"

    case_id: Mapped[str] = mapped_column(ForeignKey("submissions.case_id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(24))
    status_at: Mapped[datetime] = mapped_column(UtcDateTime)
    assignee: Mapped[dict[str, str] | None] = mapped_column(JSON)
    level: Mapped[str | None] = mapped_column(String(16))
    deadlines: Mapped[dict[str, str] | None] = mapped_column(JSON)


class TimelineEntry(Base):
    __tablename__ = "case_timeline"
    __table_args__ = (UniqueConstraint("event_id", name="uq_timeline_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)


class Callback(Base):
    """A status change owed to a source's callback URL, retried until it is taken."""

    __tablename__ = "callbacks"
    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_callback_once"),
        Index("ix_callbacks_due", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


TABLES = kit_tables(Base.metadata)
