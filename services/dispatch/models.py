"""Dispatch's tables: the case as it moves, and every step it took."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from contracts.desk import particulars_of
from contracts.events import Assignee, CaseReceived, Deadlines
from contracts.rpc import CaseView, TimelineEntry
from kernel.petition import PetitionClocks
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
        # newest first, by (received_at, case_id): the list's order, alone or after a filter
        Index("ix_cases_received", "received_at", "case_id"),
        Index("ix_cases_status_received", "status", "received_at", "case_id"),
        Index("ix_cases_channel_received", "channel", "received_at", "case_id"),
        Index("ix_cases_risk_received", "risk", "received_at", "case_id"),
        Index("ix_cases_category_received", "category", "received_at", "case_id"),
        Index("ix_cases_assignee_status", "assignee_code", "status"),
        Index("ix_cases_due", "due_at"),
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
    return_review: Mapped[dict[str, str] | None] = mapped_column(JSON)
    """退单审核: the unit whose return waits for the centre's check."""
    appeal: Mapped[str | None] = mapped_column(String(16))
    """不满意甄别 of the current "unsatisfied": pending, upheld, rejected."""
    place: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    search_terms: Mapped[str] = mapped_column(Text, default="")
    """The words of the content and the address (``search.terms_of``), for ``q``."""
    reach_unit_codes: Mapped[list[str]] = mapped_column(
        ARRAY(Text).with_variant(JSON(), "sqlite"), default=list
    )
    """The codes of its reach rows, beside its words: on PostgreSQL one GIN index holds both
    (migration ``dispatch_reach_unit_codes``), so a scoped ``q`` finds the cases holding the words
    within the scope in one index scan, where the words and the reach rows, each many, would
    be intersected case by case. SQLite answers from its FTS table and the reach rows."""
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The next limit the holder must meet (None: no clock of the holder runs): overdue
    when past it."""
    resolve_seconds: Mapped[int | None] = mapped_column(Integer)
    routing_rule: Mapped[str] = mapped_column(String(64))
    routing_reason: Mapped[str] = mapped_column(Text)
    received: Mapped[dict[str, object]] = mapped_column(JSON)
    petition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """信访 only: the petition's clocks (``kernel.petition.PetitionClocks``, ``petition_row``)."""
    received_by: Mapped[str | None] = mapped_column(String(64), index=True)
    """首问负责: who registered it at the centre's desk."""
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    history: Mapped[list[HistoryEntry]] = relationship(
        order_by="HistoryEntry.id", cascade="all, delete-orphan"
    )
    reach: Mapped[list[CaseReach]] = relationship(cascade="all, delete-orphan")

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
            return_review=_assignee(self.return_review),
            appeal=self.appeal,  # type: ignore[arg-type]
            petition=petition_clocks(self.petition),
            risk=self.risk,  # type: ignore[arg-type]
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
        self.return_review = new.return_review.model_dump() if new.return_review else None
        self.appeal = new.appeal
        self.petition = petition_row(new.petition)
        self.risk = new.risk
        self.due_at = due_of(new)
        self.reach_units(reach_of(self.assignee_code, self.level, self.helpers, self.place))
        self.updated_at = step.at
        self.history.append(
            HistoryEntry(
                at=step.at, action=step.action, from_status=step.from_status,
                to_status=step.to_status, actor=step.actor.user, role=step.actor.role,
                unit=step.actor.unit, reason=step.reason,
            )
        )  # fmt: skip

    def reach_units(self, wanted: dict[str, bool]) -> None:
        """Keep the reach rows as ``wanted`` says (code: held), changing rows in place: a row
        removed and added again in one flush would clash on its key."""
        kept = {row.unit_code: row for row in self.reach}
        for code, row in kept.items():
            if code not in wanted:
                self.reach.remove(row)
            else:
                row.held = wanted[code]
        for code, held in wanted.items():
            if code not in kept:
                self.reach.append(CaseReach(unit_code=code, received_at=self.received_at,
                                            held=held))  # fmt: skip
        self.reach_unit_codes = sorted(wanted)

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
            return_review=state.return_review,
            appeal=state.appeal,
            petition=self.petition,
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


_PETITION_TIMES = ("filed_at", "acknowledge_by", "answer_by", "accepted_at", "answered_at",
                   "review_asked_by")  # fmt: skip


def petition_row(clocks: PetitionClocks | None) -> dict[str, Any] | None:
    """A petition's clocks as its JSON column holds them (times in ISO 8601)."""
    if clocks is None:
        return None
    row: dict[str, Any] = {"stage": clocks.stage, "extended": clocks.extended}
    for name in _PETITION_TIMES:
        at = getattr(clocks, name)
        row[name] = at.isoformat() if at is not None else None
    return row


def petition_clocks(row: dict[str, Any] | None) -> PetitionClocks | None:
    if row is None:
        return None
    times = {
        name: datetime.fromisoformat(row[name]) if row.get(name) else None
        for name in _PETITION_TIMES
    }
    return PetitionClocks(stage=row["stage"], extended=row["extended"], **times)  # type: ignore[arg-type]


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


class CaseReach(Base):
    """A unit a case is within reach of: the unit holding it, those helping, and those it lies
    in (its place, micro-grid up to the district). ``held``: the holder, or a unit above the
    holder in the case's place (the ``unit`` filter: held within that unit's subtree).
    ``received_at`` is the case's, so that a scoped list reads its page from one index."""

    __tablename__ = "case_reach"
    __table_args__ = (Index("ix_case_reach_unit", "unit_code", "received_at", "case_id", "held"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("cases.case_id"), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    held: Mapped[bool] = mapped_column(Boolean, default=False)


TABLES = kit_tables(Base.metadata)


def reach_of(
    assignee_code: str | None,
    level: str | None,
    helpers: list[dict[str, Any]],
    place: list[dict[str, Any]],
) -> dict[str, bool]:
    """Every unit the case is within reach of, and whether it holds the case or lies above
    the holder in the case's place (``place`` runs from the nearest unit up). A holder that
    is not in the place (a department) holds the case for the place's unit at the case's
    level: the duty list routing read is that unit's."""
    codes = [h["unit"]["code"] for h in helpers] + [unit["code"] for unit in place]
    reach = dict.fromkeys(codes, False)
    if assignee_code:
        chain = [unit["code"] for unit in place]
        levels = [unit.get("level") for unit in place]
        start = (
            chain.index(assignee_code) if assignee_code in chain
            else levels.index(level) if level in levels else len(chain)
        )  # fmt: skip
        reach.update(dict.fromkeys(chain[start:], True))
        reach[assignee_code] = True
    return reach


OPEN_LIMITS: dict[str, tuple[str, ...]] = {
    "dispatched": ("respond_by", "feedback_by", "resolve_by"),
    "accepted": ("feedback_by", "resolve_by"),
    "in_progress": ("resolve_by",),
}
"""The limits still running in each state: signing (见) meets the first, the first feedback
(办) the second; a state not named here runs none of the holder's clocks."""


def due_of(state: CaseState) -> datetime | None:
    """The earliest limit still running: past it, the case is overdue."""
    running = OPEN_LIMITS.get(state.status, ())
    if state.deadlines is None or not running:
        return None
    limits: list[datetime] = [getattr(state.deadlines, limit) for limit in running]
    petition = state.petition
    if petition is not None:
        limits.append(petition.answer_by)
        if petition.accepted_at is None and petition.acknowledge_by is not None:
            limits.append(petition.acknowledge_by)
    return min(limits)
