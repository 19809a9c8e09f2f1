"""A burst's new deliveries are made in memory, settled, and written once, as they stand;
recorded ones are read, never made again; one recorded meanwhile by another worker stops the
burst rather than be sent twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from contracts.events import (
    CASE_AWAITING_DISPATCH,
    CASE_DISPATCHED,
    Assignee,
    CaseAwaitingDispatch,
    CaseDispatched,
    Deadlines,
)
from kit.db import Store
from services.notify.handlers import follow
from services.notify.models import TABLES, Base, Delivery, FollowedCase
from services.notify.repository import DeliveryRecordedElsewhere, DeliveryRepository
from tests.support.databases import store_with_tables

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "notify", TABLES, Base.metadata) as store:
        yield store


def letter(event_id: str, recipient: str, fingerprint: str | None = None) -> dict[str, Any]:
    return dict(
        trigger_event_id=event_id, case_id="CF-1", recipient_key=recipient,
        recipient_masked="138****0000", channel="sms", provider="aliyun", text="有新案件",
        status="pending", attempts=0, created_at=NOW, trigger_type="case.dispatched",
        template="dispatched", address_sealed="sealed", recipient_fingerprint=fingerprint,
        segments=1, next_attempt_at=NOW, updated_at=NOW, params={"case_id": "CF-1"},
    )  # fmt: skip


def stored(store: Store) -> dict[tuple[str, str], tuple[Any, ...]]:
    with store.read() as session:
        return {
            (d.trigger_event_id, d.recipient_key): (d.id, d.status, d.attempts, d.params)
            for d in session.scalars(select(Delivery))
        }


def test_new_deliveries_go_in_once_as_the_burst_left_them(store: Store) -> None:
    with store.unit_of_work() as uow:
        repo = DeliveryRepository(uow.session)
        repo.claim([letter("e-0", "department:D-1")])
        repo.write_new()
        uow.commit()
    [(first_id, *_)] = stored(store).values()
    with store.unit_of_work() as uow:
        repo = DeliveryRepository(uow.session)
        # a citizen with no fingerprint, then one with (a column given in one row and not the
        # other), the same letter twice, and one recorded before
        claimed = repo.claim(
            [letter("e-1", "citizen"), letter("e-1", "department:D-1", "fp"),
             letter("e-1", "citizen"), letter("e-0", "department:D-1")]
        )  # fmt: skip
        assert claimed[0] is claimed[2] and claimed[3].id == first_id
        assert [d.id for d in claimed[:2]] == [None, None]  # not written yet
        claimed[0].status, claimed[0].attempts = "sending", 1
        claimed[1].status = "queued"
        repo.write_new()
        assert claimed[0].id is not None and claimed[1].id is not None
        uow.commit()
    rows = stored(store)
    assert len(rows) == 3
    assert rows["e-1", "citizen"] == (claimed[0].id, "sending", 1, {"case_id": "CF-1"})
    assert rows["e-1", "department:D-1"][1:3] == ("queued", 0)
    assert rows["e-0", "department:D-1"][:2] == (first_id, "pending")


def test_a_delivery_recorded_meanwhile_elsewhere_stops_the_burst(
    store: Store, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite lets one writer in at a time: no other worker can record meanwhile")
    with store.unit_of_work() as uow:
        repo = DeliveryRepository(uow.session)
        [mine] = repo.claim([letter("e-2", "citizen")])
        with store.unit_of_work() as other:  # another worker, between the claim and the write
            theirs = DeliveryRepository(other.session)
            theirs.claim([letter("e-2", "citizen")])[0].status = "sending"
            theirs.write_new()
            other.commit()
        mine.status = "sending"
        with pytest.raises(DeliveryRecordedElsewhere, match="e-2"):
            repo.write_new()
    [(_, status, _, _)] = stored(store).values()
    assert status == "sending"


def test_a_burst_keeps_new_and_known_cases_as_their_events_leave_them(store: Store) -> None:
    grid = Assignee(kind="grid", code="G-0101", name="城关一网格")
    deadlines = Deadlines(respond_by=NOW, feedback_by=NOW, resolve_by=NOW)
    waiting = CaseAwaitingDispatch(reason="no rule", risk="yellow", summary="噪音")
    dispatched = CaseDispatched(
        assignee=grid, level="grid", deadlines=deadlines, dispatched_by="auto", risk="red",
        territory={"grid": "G-0101"}, summary="噪音扰民",
    )  # fmt: skip
    with store.unit_of_work() as uow:  # notify kept this one before
        uow.session.add(FollowedCase(case_id="CF-KNOWN", risk="blue", summary="旧", territory={}))
        uow.commit()
    with store.unit_of_work() as uow:
        follow(DeliveryRepository(uow.session), [
            CASE_AWAITING_DISPATCH.new(waiting, case_id="CF-NEW", occurred_at=NOW),
            CASE_DISPATCHED.new(dispatched, case_id="CF-NEW", occurred_at=NOW),
            CASE_DISPATCHED.new(dispatched, case_id="CF-KNOWN", occurred_at=NOW),
            CASE_AWAITING_DISPATCH.new(waiting, case_id="CF-WAITING", occurred_at=NOW),
        ])  # fmt: skip
        uow.commit()
    with store.read() as session:
        kept = {
            case.case_id: (case.risk, case.summary, case.territory, case.assignee)
            for case in session.scalars(select(FollowedCase))
        }
        unset = session.scalars(text("SELECT case_id FROM cases WHERE assignee IS NULL")).all()
    word = ("red", "噪音扰民", {"grid": "G-0101"}, grid.model_dump())
    assert kept == {
        "CF-NEW": word, "CF-KNOWN": word, "CF-WAITING": ("yellow", "噪音", {}, None)
    }  # fmt: skip
    assert unset == ["CF-WAITING"]  # no holder yet: SQL NULL, as a row made empty has it
