"""The centre's own desk (来访, 来电, 来信): an operator registers a matter, which intake stores
and tells as every matter is; the registering user receives it (首问负责), finds it among
"我登记的", and is told when it is concluded so that they can tell the citizen. Concluded
cases no SMS can revisit wait in the 待回访 list for an operator's call.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.desk import CENTRE_SOURCE, DeskRegistration
from contracts.events import CASE_CONCLUDED, CASE_RECEIVED, Envelope
from services.console import domain
from services.console.models import Notice
from services.console.ports import Dispatch, Intake, Supervision
from services.console.refusals import BadField, NotFound, NotPermitted
from services.console.unit_of_work import ConsoleReads, ConsoleUnitOfWork

DESK_ROLES = frozenset({"operator", "admin"})
"""Who registers at the desk and calls citizens back: the centre's operators, and admins."""
MAX_KEY = 200
ROUTED_WAIT_SECONDS = 3.0
"""How long a registration waits for dispatch to have the case before answering it as
received: the answer is the case as it stands then."""
ROUTED_POLL_SECONDS = 0.1
SUMMARY_CHARS = 60
FOLLOWED = (CASE_RECEIVED, CASE_CONCLUDED)


def must_be_at_desk(principal: domain.Principal) -> None:
    if principal.role not in DESK_ROLES:
        raise NotPermitted(f"a {principal.role} does not work at the centre's desk")


@dataclass(frozen=True)
class Register:
    """A registration as the request makes it: the body, and its Idempotency-Key."""

    body: dict[str, Any]
    key: str | None = None


def register(
    intake: Intake,
    dispatch: Dispatch,
    principal: domain.Principal,
    command: Register,
    categories: Collection[str],
    pause: Callable[[float], None],
) -> tuple[dict[str, Any], bool]:
    """登记: the matter checked (every field at fault named), handed to intake in the user's
    name, and answered as the case it became: (case JSON, whether the key had made it)."""
    must_be_at_desk(principal)
    if command.key is not None and not 0 < len(command.key) <= MAX_KEY:
        raise BadField("Idempotency-Key", f"1 to {MAX_KEY} characters")
    registration = DeskRegistration.model_validate(command.body)
    if registration.category is not None and registration.category not in categories:
        raise BadField("category", "不是事项目录中的分类")
    wanted = registration.model_dump(mode="json", exclude_none=True)
    made = intake.register_at_desk(wanted, principal.user, command.key)
    case = routed_case(dispatch, made["case_id"], pause)
    if case is None:
        case = received_view(made, registration, principal.user)
    return domain.shown_actions(principal, case), bool(made["duplicate"])


def routed_case(
    dispatch: Dispatch, case_id: str, pause: Callable[[float], None]
) -> dict[str, Any] | None:
    """The case once dispatch has it (routed: dispatched, waiting, or concluded 直办)."""
    waited = 0.0
    while True:
        case = dispatch.get_case(case_id)
        if case is not None or waited >= ROUTED_WAIT_SECONDS:
            return case
        pause(ROUTED_POLL_SECONDS)
        waited += ROUTED_POLL_SECONDS


def received_view(
    made: dict[str, Any], registration: DeskRegistration, user: str
) -> dict[str, Any]:
    """The case as intake received it, before dispatch has routed it."""
    phone = registration.citizen.phone
    citizen = {"name": registration.citizen.name, "phone": phone and mask(phone)}
    details: dict[str, Any] = {"form": registration.form}
    if registration.handled_at_desk is not None:
        details["handled_at_desk"] = registration.handled_at_desk.result
    return {
        "case_id": made["case_id"], "status": "received", "channel": registration.line,
        "source": CENTRE_SOURCE, "category": registration.category, "risk": "blue",
        "content": registration.content, "assignee": None, "level": None, "deadlines": None,
        "received_at": made["received_at"], "actions": [], "timeline": [],
        "address": registration.address, "citizen": citizen, "photos": [], "repeat_of": [],
        "repeats": [], "risk_rules": [], "received_by": user, "details": details,
        "location": registration.location.model_dump() if registration.location else None,
    }  # fmt: skip


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "*" * len(phone)


# --- 首问负责: the receiver is told of the conclusion -----------------------------------------


def follow_desk_cases(uow: ConsoleUnitOfWork, events: Sequence[Envelope[Any]]) -> int:
    """Remember who received each desk case; when one is concluded by someone else, keep a
    notice for its receiver. How many notices were kept (each event counts once)."""
    kept = 0
    with uow:
        fresh = uow.first_times(event.event_id for event in events)
        for event in events:
            if not fresh.take(event.event_id) or event.case_id is None:
                continue
            data = event.data
            if event.type == CASE_RECEIVED.type:
                if data.source == CENTRE_SOURCE and data.received_by:
                    uow.desk.received(event.case_id, data.received_by, summary_of(data.content))
            elif (desk := uow.desk.receiver(event.case_id)) is not None and not data.at_desk:
                text = notice_text(event.case_id, desk.summary, data.result)
                uow.desk.notify(desk.received_by, event.case_id, event.event_id,
                                event.occurred_at, text)  # fmt: skip
                kept += 1
        uow.commit()
    return kept


def summary_of(content: str) -> str:
    flat = " ".join(content.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


def notice_text(case_id: str, summary: str, result: str) -> str:
    return f"您登记的工单 {case_id}({summary})已办结:{result}。请告知群众。"


def notices(reads: ConsoleReads, principal: domain.Principal) -> dict[str, Any]:
    """My notices, the unread first, and how many are unread."""
    with reads:
        rows = reads.desk.notices(principal.user)
        unread = reads.desk.unread(principal.user)
    return {"items": [notice_view(n) for n in rows], "unread": unread}


def notice_view(notice: Notice) -> dict[str, Any]:
    return {
        "notice_id": notice.id, "case_id": notice.case_id, "at": notice.at.isoformat(),
        "text": notice.text, "read": notice.read_at is not None,
    }  # fmt: skip


def read_notice(
    uow: ConsoleUnitOfWork, principal: domain.Principal, notice_id: int, now: datetime
) -> None:
    with uow:
        if not uow.desk.mark_read(principal.user, notice_id, now):
            raise NotFound(f"no notice {notice_id}")
        uow.commit()


# --- 待回访 ---------------------------------------------------------------------------------


def revisits(
    supervision: Supervision,
    dispatch: Dispatch,
    principal: domain.Principal,
    page: int,
    page_size: int,
) -> dict[str, Any]:
    """The concluded cases waiting for a revisit by phone, the nearest limit first; each with
    what the operator needs for the call (the matter, the citizen, who received it)."""
    must_be_at_desk(principal)
    waiting = supervision.revisits(page, page_size)
    items = []
    for entry in waiting["items"]:
        case = dispatch.get_case(entry["case_id"]) or {}
        items.append(
            {**entry, "status": case.get("status"), "content": case.get("content"),
             "citizen": case.get("citizen"), "received_by": case.get("received_by"),
             "category": case.get("category"), "address": case.get("address")}
        )  # fmt: skip
    return {**waiting, "items": items}
