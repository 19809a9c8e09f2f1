"""Console's tables for notes and files: internal notes (内部备注), the metadata of the files
uploaded to a case (the bytes are in the file store, under their sha256), and what each file
went with (a note, feedback, the conclusion)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kit.db import UtcDateTime
from services.console.models import Base


class CaseNote(Base):
    """An internal note on a case: staff only, never published, never shown to the source."""

    __tablename__ = "case_notes"
    __table_args__ = (Index("ix_case_notes_case_at", "case_id", "at"),)

    note_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text)


class CaseFile(Base):
    """A file uploaded to a case: its metadata; the bytes (and the thumbnail's) are kept by
    their sha256 in the file store."""

    __tablename__ = "case_files"
    __table_args__ = (Index("ix_case_files_case_at", "case_id", "uploaded_at"),)

    attachment_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    thumbnail_sha256: Mapped[str | None] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CaseFileUse(Base):
    """A file named by a note or an action (``note``, ``feedback``, ``conclude``); ``ref``
    tells one use from another: the note's id, or the case's version after the action (a
    repeated request, same Idempotency-Key, finds the version it made and adds nothing)."""

    __tablename__ = "case_file_uses"
    __table_args__ = (
        UniqueConstraint("attachment_id", "used_with", "ref", name="uq_case_file_uses"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    attachment_id: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[str] = mapped_column(String(32), index=True)
    used_with: Mapped[str] = mapped_column(String(16))
    ref: Mapped[str] = mapped_column(String(32))
    note_id: Mapped[str | None] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
