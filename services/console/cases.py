"""Cases, orders and boards, each user within their reach (their department, their grid,
their unit's subtree): outside it a case does not exist. The work itself is the other
services': dispatch carries out lifecycle actions, supervision 督办 and 考评, grid the map.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.actions import action_from, for_dispatch
from services.console import domain
from services.console.ports import Dispatch, Grid, Supervision
from services.console.refusals import BadField, NotFound, NotPermitted

FILTERS = ("status", "channel", "risk", "category", "level")
"""What a case list may be filtered by."""
MAP_LEVELS = ("grid", "community", "street", "district", "micro_grid")
CLOSED = ("closed", "merged", "resolved_on_site")


def scope_of(principal: domain.Principal, mine: bool = False) -> list[str] | None:
    """The units whose cases this user may list (None: all)."""
    if domain.sees_everything(principal) and not (mine and principal.unit):
        return None
    return [principal.unit] if principal.unit else []


def case_in_reach(dispatch: Dispatch, principal: domain.Principal, case_id: str) -> dict[str, Any]:
    case = dispatch.get_case(case_id)
    if case is None or not domain.in_reach(principal, case):
        raise NotFound(f"no case {case_id}")
    return dict(case)


def must(principal: domain.Principal, action: str) -> None:
    if not domain.may(principal, action):
        raise NotPermitted(f"a {principal.role} may not {action}")


def actor_of(principal: domain.Principal, on_behalf_of: str | None = None) -> dict[str, Any]:
    """Who acts, for which unit: a handler for their own; an admin for whichever they name."""
    unit = on_behalf_of if principal.role == "admin" else principal.unit
    return {"user": principal.user, "role": principal.role, "unit": unit}


@dataclass(frozen=True)
class CaseQuery:
    """A page of the case list; ``mine``: only my unit's, even for those who see all."""

    filters: dict[str, str] = field(default_factory=dict)
    page: int = 1
    page_size: int = 50
    mine: bool = False


def list_cases(dispatch: Dispatch, principal: domain.Principal, query: CaseQuery) -> dict[str, Any]:
    page = dispatch.list_cases(
        scope=scope_of(principal, query.mine),
        filters=query.filters,
        page=query.page,
        page_size=query.page_size,
    )
    page["items"] = [domain.shown_actions(principal, case) for case in page["items"]]
    return page


def get_case(dispatch: Dispatch, principal: domain.Principal, case_id: str) -> dict[str, Any]:
    return domain.shown_actions(principal, case_in_reach(dispatch, principal, case_id))


@dataclass(frozen=True)
class Act:
    """A lifecycle action on a case, as the request names it; ``key``: the Idempotency-Key."""

    case_id: str
    action: str
    body: dict[str, Any]
    key: str | None = None


def act(dispatch: Dispatch, principal: domain.Principal, command: Act) -> dict[str, Any]:
    """A lifecycle action, validated once (``contracts.actions``) and carried out by dispatch
    in the user's name; ``dispatch`` with an empty body is the one click (一键派单)."""
    if command.action not in domain.LIFECYCLE_ACTIONS:
        raise NotFound(f"no action {command.action!r}")
    case_in_reach(dispatch, principal, command.case_id)
    must(principal, command.action)
    wanted = action_from(command.action, command.body)
    actor = actor_of(principal, wanted.on_behalf_of)
    case = dispatch.act(command.case_id, for_dispatch(wanted), actor, command.key)
    return domain.shown_actions(principal, case)


def dispatch_many(
    dispatch: Dispatch, principal: domain.Principal, case_ids: Any, key: str | None
) -> list[dict[str, Any]]:
    """Select many, one click: each case takes its suggestion."""
    must(principal, "dispatch")
    if not isinstance(case_ids, list) or not all(isinstance(c, str) for c in case_ids):
        raise BadField("case_ids", "a list of case ids")
    return dispatch.dispatch_many(case_ids, actor_of(principal), key)


def supervise(
    dispatch: Dispatch,
    supervision: Supervision,
    principal: domain.Principal,
    case_id: str,
    order: Any,
) -> dict[str, Any]:
    """督办: ``{"grade": "normal|yellow|red", "note", "due_at"?}`` on a case in reach."""
    case_in_reach(dispatch, principal, case_id)
    must(principal, "supervise")
    return supervision.issue_order(case_id, order, principal.user)


def board(supervision: Supervision, principal: domain.Principal) -> dict[str, Any]:
    """超时看板 of the units within reach."""
    return supervision.board(scope_of(principal))


def case_map(
    dispatch: Dispatch, grid: Grid, principal: domain.Principal, level: str
) -> dict[str, Any]:
    """The outlines of a level's units and the open cases within reach that have a place."""
    if level not in MAP_LEVELS:
        raise BadField("level", f"{level!r} is not a level")
    page = dispatch.list_cases(scope=scope_of(principal), filters={}, page=1, page_size=200)
    cases = [
        {"case_id": c["case_id"], "lat": c["location"]["lat"], "lon": c["location"]["lon"],
         "risk": c["risk"], "status": c["status"]}
        for c in page["items"]
        if c.get("location") and c["status"] not in CLOSED
    ]  # fmt: skip
    return {"units": grid.shapes(level), "cases": cases}


def assessment(
    supervision: Supervision, principal: domain.Principal, period: str, kind: str | None
) -> dict[str, Any]:
    """一单考评 of ``period`` (2026-11, 2026-Q4, 2026, 2026-11-21), ``kind`` optional."""
    must(principal, "assess")
    return supervision.assessment(period, kind)


def subscribe(
    supervision: Supervision, principal: domain.Principal, wanted: dict[str, Any]
) -> dict[str, Any]:
    """Alerts for oneself (the subscriber is always the user asking)."""
    must(principal, "subscribe")
    return supervision.subscribe({**wanted, "subscriber": principal.user})
