"""Clocks as plain values: one per (case, limit), due at the deadline, warning before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from contracts.events import ClockKind, Deadlines

CLOCK_KINDS: tuple[ClockKind, ...] = ("respond", "feedback", "resolve")


@dataclass(frozen=True)
class ClockPlan:
    kind: ClockKind
    started_at: datetime
    due_at: datetime
    warn_at: datetime


def plan_clocks(
    started_at: datetime, deadlines: Deadlines, warn_fraction: float
) -> list[ClockPlan]:
    """The three clocks a dispatch starts; each warns when ``warn_fraction`` of it has run."""
    due = {
        "respond": deadlines.respond_by,
        "feedback": deadlines.feedback_by,
        "resolve": deadlines.resolve_by,
    }
    return [
        ClockPlan(
            kind, started_at, due[kind], started_at + (due[kind] - started_at) * warn_fraction
        )
        for kind in CLOCK_KINDS
    ]
