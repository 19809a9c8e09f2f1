"""Cases, orders and boards, each user within their reach (their department, their grid,
their unit's subtree): outside it a case does not exist. The work itself is the other
services': dispatch carries out lifecycle actions, supervision 督办 and 考评, grid the map.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.actions import action_from, for_dispatch
from contracts.listing import BadCursor, CaseListFilters, decode_cursor
from kernel import phones
from services.console import domain
from services.console.ports import Dispatch, Grid, Intake, Supervision
from services.console.refusals import BadField, NotFound, NotPermitted

FILTERS = ("status", "channel", "risk", "category", "level", "q", "from", "to", "overdue", "unit",
           "received_by")  # fmt: skip
"""What a case list may be filtered by, as the query string names it (``contracts.listing``)."""
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


def must_decide(principal: domain.Principal, wanted: Any) -> None:
    """延期: a unit asks; only a supervisor (or an admin) approves or refuses."""
    if getattr(wanted, "action", None) == "extend" and getattr(wanted, "approve", None) is not None:
        must(principal, "decide_extension")


def actor_of(principal: domain.Principal, on_behalf_of: str | None = None) -> dict[str, Any]:
    """Who acts, for which unit: a handler for their own; an admin for whichever they name."""
    unit = on_behalf_of if principal.role == "admin" else principal.unit
    return {"user": principal.user, "role": principal.role, "unit": unit}


@dataclass(frozen=True)
class CaseQuery:
    """A page of the case list; ``mine``: only my unit's, even for those who see all;
    ``after``: the ``next`` cursor of the page before (else ``page`` counts pages);
    ``phone``: a full number, that citizen's cases (never echoed, never stored)."""

    filters: CaseListFilters = field(default_factory=CaseListFilters)
    page: int = 1
    page_size: int = 50
    mine: bool = False
    after: str | None = None
    phone: str | None = None

    @classmethod
    def of(cls, args: Mapping[str, str]) -> CaseQuery:
        """From the query string: a filter that is not one is a ``ValidationError`` naming
        it, a cursor that is not one a ``BadField``; a page number that is not one is the
        first page, as in 1.0."""
        filters = CaseListFilters.model_validate({key: args[key] for key in FILTERS
                                                   if args.get(key)})  # fmt: skip
        after = args.get("after") or None
        if after is not None:
            checked_cursor(after)
        return cls(filters, _number(args.get("page"), 1), _number(args.get("page_size"), 50),
                   args.get("mine") in ("1", "true"), after, args.get("phone") or None)  # fmt: skip


def checked_cursor(after: str) -> None:
    try:
        decode_cursor(after)
    except BadCursor as refusal:
        raise BadField("after", str(refusal)) from None


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


@dataclass(frozen=True)
class PhoneSearch:
    """按号码查询: intake, which holds the numbers, answers the cases of a number's keyed
    blind index (``kernel.phones``); the number itself goes no further than this."""

    intake: Intake
    index_key: str

    def case_ids(self, phone: str) -> list[str]:
        try:
            index = phones.blind_index(self.index_key, phone)
        except phones.NotAPhoneNumber:
            raise BadField("phone", "请输入完整的手机号码或固定电话号码") from None
        return self.intake.case_ids_by_phone(index)


def filters_asked(
    principal: domain.Principal, query: CaseQuery, phone_search: PhoneSearch | None
) -> dict[str, Any]:
    """The list's filters as dispatch takes them: a phone number as the cases it was given
    in (``case_ids``, empty when none), 我登记的 as the user's own name."""
    filters = query.filters.model_dump(mode="json", exclude_none=True)
    if query.phone is not None:
        if phone_search is None:
            raise BadField("phone", "此处不能按号码查询")
        filters["case_ids"] = phone_search.case_ids(query.phone)
    if filters.get("received_by") == "me":  # 我登记的: the cases I registered at the desk
        filters["received_by"] = principal.user
    return filters


def list_cases(
    dispatch: Dispatch,
    principal: domain.Principal,
    query: CaseQuery,
    phone_search: PhoneSearch | None = None,
) -> dict[str, Any]:
    """A page of the cases within reach, newest first, with the cursor of the next."""
    filters = filters_asked(principal, query, phone_search)
    if filters.get("case_ids") == []:
        return {"items": [], "total": 0, "page": query.page, "page_size": query.page_size,
                "next": None}  # fmt: skip
    page = dispatch.list_cases(
        scope=scope_of(principal, query.mine),
        filters=filters,
        page=query.page,
        page_size=query.page_size,
        after=query.after,
    )
    page["items"] = [domain.shown_actions(principal, case) for case in page["items"]]
    return page


EXPORT_PAGE = 1000
"""Cases fetched at once for an export: dispatch's largest export page."""


def walk_cases(
    dispatch: Dispatch,
    principal: domain.Principal,
    query: CaseQuery,
    phone_search: PhoneSearch | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Every case of the filtered list within reach, as an export's rows need it, a page at
    a time by the ``next`` cursor, fetched only as the one before is used: an export holds
    one page in memory however long the list, and page 100 costs what page 1 costs (dispatch
    counts nothing and reads only the row's columns)."""
    filters, scope = filters_asked(principal, query, phone_search), scope_of(principal, query.mine)
    if filters.get("case_ids") == []:
        return
    after: str | None = None
    while True:
        answer = dispatch.export_cases(scope, filters, after, EXPORT_PAGE)
        if answer["items"]:
            yield answer["items"]
        after = answer.get("next")
        if not after:
            return


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
    must_decide(principal, wanted)
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


def board(
    supervision: Supervision, principal: domain.Principal, after: str | None = None
) -> dict[str, Any]:
    """超时看板 of the units within reach: every card's counts, a page of the late cases,
    and the cursor of the next page (``after``)."""
    if after:
        checked_cursor(after)
        return supervision.board(scope_of(principal), after)
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
