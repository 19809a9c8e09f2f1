"""Intake's tables: what came in, once per (source, external id)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import UtcDateTime, kit_tables


class Base(DeclarativeBase):
    pass


class Submission(Base):
    """A matter as a source handed it over, and the case it became."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_submission_source_id"),)

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(16))
    transport: Mapped[str] = mapped_column(String(8))
    case: Mapped[dict[str, object]] = mapped_column(JSON)
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


TABLES = kit_tables(Base.metadata)
