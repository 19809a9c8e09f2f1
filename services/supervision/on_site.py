"""就地化解 in 一单考评: an on-site resolution is credited to the grid that solved it (an
assignment of its own, concluded at once), and a configurable share of them is spot-revisited
(抽查回访): put on the 待回访 list, where an unsatisfied answer reopens the case.

Which resolutions are drawn is decided by the case id alone (``spot_draw``): the same on every
instance and every replay, and anyone can check it from the id and the share kept on the mark.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from contracts.events import CaseResolvedOnSite, Envelope
from services.supervision import domain
from services.supervision.domain import ON_SITE
from services.supervision.models import Assignment

if TYPE_CHECKING:  # the book imports this module to follow the resolution
    from services.supervision.clocks import ClockBook

SPOT_CHECK = "revisit:spot:"
"""Owner prefix of a spot revisit's 待回访 clock (a ``revisit:`` clock like any other)."""


def spot_draw(case_id: str) -> float:
    """Where the case falls in [0, 1): the first 8 bytes of the SHA-256 of its id."""
    digest = hashlib.sha256(case_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def spot_checked(case_id: str, share: float) -> bool:
    """Whether the case is drawn for a spot revisit when ``share`` of them are."""
    return spot_draw(case_id) < share


def resolved(book: ClockBook, case_id: str, event: Envelope[CaseResolvedOnSite]) -> None:
    """Credit the grid, end the clocks, and draw the spot check."""
    fact, at = event.data, event.occurred_at
    case = book.case(case_id)
    case.territory = {str(level): code for level, code in fact.territory.items()} or case.territory
    if fact.grid is not None:
        credited = Assignment(
            id=event.event_id, case_id=case_id, assignee_kind=fact.grid.kind,
            assignee_code=fact.grid.code, assignee_name=fact.grid.name, level="grid",
            dispatched_at=at, returned=False, concluded=False, reopened=False,
        )  # fmt: skip
        book.repo.add(credited)
        book.repo.flush()
    share = book.spot_share
    chosen = spot_checked(case_id, share)
    detail: dict[str, Any] = {
        "by": fact.by, "spot_draw": round(spot_draw(case_id), 6), "spot_share": share,
        "spot_check": chosen,
    }  # fmt: skip
    book.fact(case_id, event, ON_SITE, detail)
    book.cancel_all(case_id, at)
    if chosen:
        due = book.policy.due(at, book.policy.revisit)
        plan = domain.ClockPlan("revisit", at, due, domain.warn_point(at, due, book.warn))
        if book.policy.uncertain(at, due, book.policy.revisit):
            plan = replace(plan, calendar_uncertain=True)
        book.await_revisit(case_id, f"{SPOT_CHECK}{event.event_id}", plan, "grid")
