"""问责记录: a red card (红牌督办) may open an accountability record — who is held to account,
for what, and the decision — which 一单考评 lists beside the units' scores."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.rpc import AccountabilityRequest
from services.supervision.assessment import Period
from services.supervision.models import AccountabilityRecord
from services.supervision.orders import OrderRefused, UnknownOrder
from services.supervision.unit_of_work import SupervisionUnitOfWork

RED_CARD = "red"
GRADE_NAMES = {"normal": "普通督办", "yellow": "黄牌督办", "red": "红牌督办"}


class NotARedCard(OrderRefused):
    """Only a red card (红牌督办) opens an accountability record."""


def open_record(
    uow: SupervisionUnitOfWork,
    order_id: str,
    request: AccountabilityRequest,
    by: str,
    now: datetime,
) -> AccountabilityRecord:
    """The record of the red card ``order_id``, opened by the supervisor ``by``."""
    with uow:
        order = uow.records.order(order_id)
        if order is None:
            raise UnknownOrder(order_id)
        if order.grade != RED_CARD:
            # the message in Chinese: the console shows it as it is (the grade names the field)
            grade = GRADE_NAMES.get(order.grade, order.grade)
            raise NotARedCard(f"grade: 该督办为{grade}，仅红牌督办可登记问责")
        record = AccountabilityRecord(
            record_id=f"A-{uuid.uuid4().hex[:12]}", order_id=order_id, case_id=order.case_id,
            assignee=order.assignee, person=request.person, what=request.what,
            decision=request.decision, opened_by=by, opened_at=now,
        )  # fmt: skip
        uow.records.add(record)
        uow.commit()
    return record


def records_in(session: Session, period: Period) -> list[dict[str, Any]]:
    """The records opened in the period, the newest first."""
    query = (
        select(AccountabilityRecord)
        .where(AccountabilityRecord.opened_at >= period.start)
        .where(AccountabilityRecord.opened_at < period.end)
        .order_by(AccountabilityRecord.opened_at.desc(), AccountabilityRecord.record_id)
    )
    return [view_of(row) for row in session.scalars(query)]


def view_of(row: AccountabilityRecord) -> dict[str, Any]:
    return {
        "record_id": row.record_id, "order_id": row.order_id, "case_id": row.case_id,
        "assignee": row.assignee, "person": row.person, "what": row.what,
        "decision": row.decision, "opened_by": row.opened_by,
        "opened_at": row.opened_at.isoformat(),
    }  # fmt: skip
