"""调整风险等级: a case whose risk a person graded anew. Supervision keeps the new risk, which
scopes its later limits and alerts; a case regraded red raises the red-risk alert at once, as
one received red does (once per case: an alert already raised is not raised again)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts.events import CaseRiskChanged, Envelope

if TYPE_CHECKING:  # the book imports this module to follow the regrading
    from services.supervision.clocks import ClockBook


def regraded(book: ClockBook, case_id: str, event: Envelope[CaseRiskChanged]) -> None:
    case = book.case(case_id)
    case.risk = event.data.to
    if event.data.to == "red":
        book.raise_red_risk(case, event, None)
