"""Grid's tables: units with their polygons, people, departments, duties, categories, and the
revision that tells every instance its in-memory index is stale."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kit.db import UtcDateTime, kit_tables


class Base(DeclarativeBase):
    pass


class UnitRow(Base):
    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent: Mapped[str | None] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="basic")
    exclusive_type: Mapped[str | None] = mapped_column(String(32))
    aliases: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of names."""
    geometry: Mapped[str | None] = mapped_column(Text)
    """WKB as hex: exact, so an export gives back the very coordinates imported."""


class StaffRow(Base):
    __tablename__ = "staff"

    unit: Mapped[str] = mapped_column(String(32), primary_key=True)
    role: Mapped[str] = mapped_column(String(24), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    phone_fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    wechat: Mapped[str | None] = mapped_column(String(64))


class DepartmentRow(Base):
    __tablename__ = "departments"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(32))
    phone_sealed: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    phone_fingerprint: Mapped[str | None] = mapped_column(String(64))
    contact: Mapped[str | None] = mapped_column(String(100))


class DutyRow(Base):
    __tablename__ = "duties"

    department: Mapped[str] = mapped_column(String(32), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), primary_key=True)
    level: Mapped[str] = mapped_column(String(16), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))


class CategoryRow(Base):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    parent: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16))
    resolve: Mapped[str | None] = mapped_column(String(32))
    risk: Mapped[str | None] = mapped_column(String(8))
    keywords: Mapped[str] = mapped_column(Text, default="[]")
    """JSON list of [word, weight]."""


class RevisionRow(Base):
    """One row: bumped by every change, polled by every instance."""

    __tablename__ = "revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


TABLES = kit_tables(Base.metadata)
