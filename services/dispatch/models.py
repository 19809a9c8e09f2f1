"""Dispatch's tables: the case as it moves, and every step it took."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from contracts.desk import particulars_of
from contracts.events import Assignee, CaseReceived, Deadlines
from contracts.rpc import CaseView, TimelineEntry
from kit.db import UtcDateTime, kit_tables
from services.dispatch.lifecycle import (
    CaseState,
    CaseStatus,
    Helper,
    Outcome,
    PendingExtension,
    allowed_actions,
)


class Base(DeclarativeBase):
    pass


def _assignee(value: dict[str, Any] | None) -> Assignee | None:
    return Assignee.model_validate(value) if value else None


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_status_received", "status", "received_at"),
        Index("ix_cases_assignee_status", "assignee_code", "status"),
    )

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(64))
    risk: Mapped[str] = mapped_column(String(8))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24))
    assignee: Mapped[dict[str, str] | None] = mapped_column(JSON)
    assignee_code: Mapped[str | None] = mapped_column(String(64))
    helpers: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    level: Mapped[str | None] = mapped_column(String(16))
    deadlines: Mapped[dict[str, str] | None] = mapped_column(JSON)
    suggestion: Mapped[dict[str, str] | None] = mapped_column(JSON)
    alternatives: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    proposed_helpers: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    extension: Mapped[dict[str, str] | None] = mapped_column(JSON)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    returns: Mapped[int] = mapped_column(Integer, default=0)
    reopens: Mapped[int] = mapped_column(Integer, default=0)
    merged_into: Mapped[str | None] = mapped_column(String(32))
    satisfaction: Mapped[str | None] = mapped_column(String(24))
    place: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reach_codes: Mapped[str] = mapped_column(Text, default=" ")
    """`` G-0101 C-01 S-001 D-HBJ ``: the holder, helpers and place, for scoped lists."""
    resolve_seconds: Mapped[int | None] = mapped_column(Integer)
    routing_rule: Mapped[str] = mapped_column(String(64))
    routing_reason: Mapped[str] = mapped_column(Text)
    received: Mapped[dict[str, object]] = mapped_column(JSON)
    received_by: Mapped[str | None] = mapped_column(String(64), index=True)
    """首问负责: who registered it at the centre's desk."""
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    history: Mapped[list[HistoryEntry]] = relationship(
        order_by="HistoryEntry.id", cascade="all, delete-orphan"
    )

    # Two handlers acting on one case at once cannot both win: the second UPDATE finds the
    # version moved and fails (StaleDataError) instead of overwriting.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    def state(self) -> CaseState:
        extension = self.extension
        return CaseState(
            status=CaseStatus(self.status),
            level=self.level or "district",  # type: ignore[arg-type]
            assignee=_assignee(self.assignee),
            helpers=tuple(
                Helper(Assignee.model_validate(h["unit"]), h["accepted"], h["concluded"])
                for h in self.helpers
            ),
            suggestion=_assignee(self.suggestion),
            alternatives=tuple(Assignee.model_validate(a) for a in self.alternatives),
            deadlines=Deadlines.model_validate(self.deadlines) if self.deadlines else None,
            extension=PendingExtension(
                datetime.fromisoformat(extension["until"]), extension["reason"],
                extension["by"], extension["unit"],
            ) if extension else None,
            verified=self.verified,
            returns=self.returns,
            reopens=self.reopens,
            merged_into=self.merged_into,
            satisfaction=self.satisfaction,
        )  # fmt: skip

    def apply(self, outcome: Outcome) -> None:
        """Write the new state back and remember the step."""
        new, step = outcome.state, outcome.step
        self.status = new.status
        self.level = new.level
        self.assignee = new.assignee.model_dump() if new.assignee else None
        self.assignee_code = new.assignee.code if new.assignee else None
        self.helpers = [
            {"unit": h.unit.model_dump(), "accepted": h.accepted, "concluded": h.concluded}
            for h in new.helpers
        ]
        self.suggestion = new.suggestion.model_dump() if new.suggestion else None
        self.alternatives = [a.model_dump() for a in new.alternatives]
        self.deadlines = new.deadlines.model_dump(mode="json") if new.deadlines else None
        ext = new.extension
        self.extension = (
            {"until": ext.until.isoformat(), "reason": ext.reason, "by": ext.by, "unit": ext.unit}
            if ext
            else None
        )
        self.verified, self.returns, self.reopens = new.verified, new.returns, new.reopens
        self.merged_into, self.satisfaction = new.merged_into, new.satisfaction
        self.reach_codes = reach_of(self.assignee_code, self.helpers, self.place)
        self.updated_at = step.at
        self.history.append(
            HistoryEntry(
                at=step.at, action=step.action, from_status=step.from_status,
                to_status=step.to_status, actor=step.actor.user, role=step.actor.role,
                unit=step.actor.unit, reason=step.reason,
            )
        )  # fmt: skip

    def view(self, repeats: list[str] | None = None) -> CaseView:
        """The case as staff see it; ``repeats``: the later matters repeating it, when the
        caller read them (a single case's page does, a list does not)."""
        state = self.state()
        shown = particulars_of(CaseReceived.model_validate(self.received))
        return CaseView(
            **shown.model_dump(),
            repeats=repeats or [],
            case_id=self.case_id,
            status=self.status,
            channel=self.channel,
            source=self.source,
            category=self.category,
            risk=self.risk,
            content=self.content,
            assignee=state.assignee,
            level=self.level,
            deadlines=state.deadlines,
            suggestion=state.suggestion,
            alternatives=list(state.alternatives),
            helpers=[h.unit for h in state.helpers],
            pending_extension=self.extension,
            returns=self.returns,
            reopens=self.reopens,
            merged_into=self.merged_into,
            routing_rule=self.routing_rule,
            routing_reason=self.routing_reason,
            place=self.place,
            location=self.received.get("location"),
            received_at=self.received_at,
            version=self.version,
            actions=allowed_actions(state),
            timeline=[
                TimelineEntry(
                    at=h.at, action=h.action, from_status=h.from_status, to_status=h.to_status,
                    actor=h.actor, role=h.role, unit=h.unit, reason=h.reason,
                )
                for h in self.history
            ],
        )  # fmt: skip


class RepeatLink(Base):
    """A later matter of the same citizen that repeats a case (最多访一次): the case's page
    links to it. No key to the case: the earlier one may be routed after the later."""

    __tablename__ = "case_repeats"

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    repeat_id: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)


class HistoryEntry(Base):
    """One transition: who, in what role, for which unit, when, from what to what, and why."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)


TABLES = kit_tables(Base.metadata)


def reach_of(
    assignee_code: str | None, helpers: list[dict[str, Any]], place: list[dict[str, Any]]
) -> str:
    """Space-delimited, with a space at each end, so ``LIKE '% S-001 %'`` finds a code."""
    codes = [assignee_code] if assignee_code else []
    codes += [h["unit"]["code"] for h in helpers] + [unit["code"] for unit in place]
    return " " + " ".join(codes) + " "
