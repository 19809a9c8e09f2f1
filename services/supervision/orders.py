"""督办: supervision orders on a case, with a clock of their own and the unit's reply."""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.events import (
    SUPERVISION_ORDER,
    SUPERVISION_ORDER_REPLIED,
    Assignee,
    SupervisionOrder,
    SupervisionOrderReplied,
)
from contracts.rpc import OrderRequest
from services.supervision import domain
from services.supervision.clocks import ClockBook, new_clock, stop
from services.supervision.models import Order


class OrderRefused(Exception):
    """The order cannot be issued or answered as asked."""


class UnknownCase(OrderRefused):
    """Supervision follows no such case (never dispatched, or not yet)."""


class UnknownOrder(OrderRefused):
    """No such order."""


class OrderAnswered(OrderRefused):
    """The order has its reply already."""


def issue_order(
    book: ClockBook, case_id: str, request: OrderRequest, issued_by: str, now: datetime
) -> Order:
    """A supervisor orders the unit holding the case to act by ``due_at``."""
    case = book.repo.case(case_id)
    if case is None:
        raise UnknownCase(case_id)
    due = request.due_at or book.policy.due(now, book.policy.orders[request.grade])
    if due <= now:
        raise OrderRefused("due_at: must be in the future")
    holder = book.repo.assignment(case.assignment_id)
    assignee = (
        Assignee(kind=holder.assignee_kind, code=holder.assignee_code, name=holder.assignee_name)
        if holder
        else None
    )
    order = Order(
        order_id=f"O-{uuid.uuid4().hex[:12]}", case_id=case_id, grade=request.grade,
        note=request.note, issued_by=issued_by, issued_at=now, due_at=due,
        assignment_id=holder.id if holder else None,
        assignee=assignee.model_dump() if assignee else None,
    )  # fmt: skip
    book.repo.add(order)
    plan = domain.ClockPlan("order", now, due, domain.warn_point(now, due, book.warn))
    level = holder.level if holder else "district"
    book.repo.add(
        new_clock(case_id, order.order_id, plan, level, assignee.code if assignee else "-")
    )
    fact = SupervisionOrder(
        grade=request.grade, due_at=due, issued_by=issued_by, note=request.note,
        order_id=order.order_id, assignee=assignee,
    )  # fmt: skip
    event = SUPERVISION_ORDER.new(fact, case_id=case_id, occurred_at=now)
    book.uow.emit(event)
    book.route("order", event, case, f"{request.grade} {request.note}")
    return order


def reply_to_order(book: ClockBook, order_id: str, reply: str, by: str, now: datetime) -> Order:
    """督办回复: the unit answers; the order's clock stops."""
    order = book.repo.order(order_id)
    if order is None:
        raise UnknownOrder(order_id)
    if order.replied_at is not None:
        raise OrderAnswered(f"{order_id} was answered at {order.replied_at.isoformat()}")
    order.replied_at, order.reply, order.replied_by = now, reply, by
    for clock in book.repo.clocks_owned_by([order_id]):
        stop(clock, now)
    fact = SupervisionOrderReplied(
        order_id=order_id, reply=reply, by=by, on_time=now <= order.due_at
    )
    book.uow.emit(SUPERVISION_ORDER_REPLIED.new(fact, case_id=order.case_id, occurred_at=now))
    return order


def view_of(order: Order) -> dict[str, object]:
    return {
        "order_id": order.order_id, "case_id": order.case_id, "grade": order.grade,
        "note": order.note, "issued_by": order.issued_by,
        "issued_at": order.issued_at.isoformat(), "due_at": order.due_at.isoformat(),
        "assignee": order.assignee, "reply": order.reply, "replied_by": order.replied_by,
        "replied_at": order.replied_at.isoformat() if order.replied_at else None,
    }  # fmt: skip
