"""Dispatch's tables: the case as it moves, and every step it took."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from contracts.events import Assignee, Deadlines
from contracts.rpc import CaseView, TimelineEntry
from kit.db import UtcDateTime, kit_tables
from services.dispatch.domain import CaseStatus, transition


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_status_received", "status", "received_at"),)

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    assignee: Mapped[dict[str, str] | None] = mapped_column(JSON)
    level: Mapped[str | None] = mapped_column(String(16))
    deadlines: Mapped[dict[str, str] | None] = mapped_column(JSON)
    suggestion: Mapped[dict[str, str] | None] = mapped_column(JSON)
    alternatives: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    resolve_seconds: Mapped[int | None] = mapped_column(Integer)
    routing_rule: Mapped[str] = mapped_column(String(64))
    routing_reason: Mapped[str] = mapped_column(Text)
    received: Mapped[dict[str, object]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    history: Mapped[list[HistoryEntry]] = relationship(
        order_by="HistoryEntry.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def state(self) -> CaseStatus:
        return CaseStatus(self.status)

    def move(self, action: str, actor: str, at: datetime, reason: str | None = None) -> None:
        """Apply a lifecycle action: the pure state machine decides, history remembers."""
        target = transition(self.state, action)
        self.history.append(
            HistoryEntry(
                at=at,
                action=action,
                from_status=self.status,
                to_status=target,
                actor=actor,
                reason=reason,
            )
        )
        self.status = target
        self.updated_at = at

    def view(self) -> CaseView:
        return CaseView(
            case_id=self.case_id,
            status=self.status,
            channel=self.channel,
            source=self.source,
            category=self.category,
            risk=self.risk,
            content=self.content,
            assignee=Assignee(**self.assignee) if self.assignee else None,
            level=self.level,
            deadlines=Deadlines(**self.deadlines) if self.deadlines else None,
            suggestion=Assignee(**self.suggestion) if self.suggestion else None,
            routing_reason=self.routing_reason,
            received_at=self.received_at,
            timeline=[
                TimelineEntry(
                    at=h.at,
                    action=h.action,
                    from_status=h.from_status,
                    to_status=h.to_status,
                    actor=h.actor,
                    reason=h.reason,
                )
                for h in self.history
            ],
        )


class HistoryEntry(Base):
    """One transition: who, when, from what to what, and why."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


TABLES = kit_tables(Base.metadata)
