"""Submissions stored in one unit of work (a batch from ``civicflow.inbound``) come out as they
would each in its own: the same repeats linked (those earlier in the batch included), the same
risk, one row and one ``case.received`` each; a repeat of a stored ticket is answered as the
duplicate it is, and a unit of work that fails stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from contracts.inbound import HOTLINE, HotlineTicket
from kit.db import Store
from kit.green import concurrently
from kit.settings import Settings
from services.intake.commands import NewSubmission
from services.intake.config import IntakeConfig, load_config
from services.intake.handlers import store_submission, store_submissions
from services.intake.models import TABLES, Base, Submission
from services.intake.unit_of_work import SqlIntakeUnitOfWork
from tests.support.databases import store_with_tables

ONE, TWO = "13800001111", "13900002222"
NOW = datetime(2026, 11, 21, 3, 0, tzinfo=UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "intake_store", TABLES, Base.metadata) as store:
        yield store


@pytest.fixture(scope="module")
def config() -> IntakeConfig:
    return load_config(Settings(env="dev"))


def ticket(number: str, content: str, phone: str, at: str = "10:00") -> NewSubmission:
    payload = HotlineTicket.model_validate(
        {
            "ticket_no": number,
            "received_at": f"2026-11-21T{at}:00+08:00",
            "caller": {"name": "王先生", "phone": phone},
            "content": content,
        }
    )
    return NewSubmission.of(HOTLINE, payload, "hotline", "http")


def stored(store: Store) -> dict[str, dict[str, Any]]:
    """Each stored case by its ticket: its case id, repeats and risk as emitted."""
    with store.read() as session:
        rows = session.scalars(select(Submission)).all()
        ids = {row.case_id: row.external_id for row in rows}
    with store.engine.connect() as connection:
        bodies = [json.loads(body) for (body,) in connection.exec_driver_sql(
            "SELECT body FROM outbox ORDER BY id"
        )]  # fmt: skip
    assert len(bodies) == len(ids)  # one case.received for each row, and no more
    return {
        ids[body["case_id"]]: {
            "case_id": body["case_id"],
            "repeat_of": [ids[case_id] for case_id in body["data"]["repeat_of"]],
            "risk": body["data"]["risk"],
            "risk_rules": body["data"]["risk_rules"],
        }
        for body in bodies
    }


EARLIER = ticket("T-early", "小区楼下饭店油烟污染严重,熏得没法开窗", TWO, "08:00")
GROUP = [
    ticket("T-1", "孩子上学入学名额问题", ONE, "09:00"),
    ticket("T-2", "楼下饭店油烟污染严重,反映多次没人管", TWO, "09:30"),  # repeats the earlier
    ticket("T-3", "孩子入学名额问题还没解决", ONE, "09:45"),  # repeats T-1, in its own group
    ticket("T-4", "路灯坏了", "13700003333", "09:50"),
    ticket("T-5", "饭店油烟污染严重还是没人管", TWO, "09:55"),  # repeats T-2 and the earlier
]


def store_alone(store: Store, config: IntakeConfig, new: NewSubmission) -> tuple[str, bool]:
    """As an HTTP submission is stored: in a unit of work of its own."""
    return store_submission(SqlIntakeUnitOfWork(store.unit_of_work), new, config, NOW)


def store_together(
    store: Store, config: IntakeConfig, submissions: list[NewSubmission]
) -> list[tuple[str, bool]]:
    """As a batch from ``civicflow.inbound`` is stored: in one unit of work."""
    return store_submissions(SqlIntakeUnitOfWork(store.unit_of_work), submissions, config, NOW)


class FailingBeforeCommit(SqlIntakeUnitOfWork):
    def commit(self) -> None:
        raise RuntimeError("the batch failed before its commit")


@pytest.mark.parametrize("batch", [True, False], ids=["in-one-unit-of-work", "each-alone"])
def test_a_batch_links_and_grades_as_submissions_stored_alone_do(
    store: Store, config: IntakeConfig, batch: bool
) -> None:
    store_alone(store, config, EARLIER)
    if batch:
        answers = store_together(store, config, GROUP)
    else:
        answers = [store_alone(store, config, new) for new in GROUP]
    cases = stored(store)
    assert [case_id for case_id, _ in answers] == [cases[n]["case_id"] for n in
                                                   ("T-1", "T-2", "T-3", "T-4", "T-5")]  # fmt: skip
    assert not any(duplicate for _, duplicate in answers)
    repeats = {number: case["repeat_of"] for number, case in cases.items()}
    assert repeats == {
        "T-early": [], "T-1": [], "T-2": ["T-early"], "T-3": ["T-1"], "T-4": [],
        "T-5": ["T-2", "T-early"],
    }  # fmt: skip
    assert cases["T-5"]["risk"] == "yellow" and "repeat_complaint" in cases["T-5"]["risk_rules"]
    assert cases["T-4"]["risk"] == "blue"


def test_a_batch_meeting_a_stored_ticket_answers_it_as_a_duplicate(
    store: Store, config: IntakeConfig
) -> None:
    earlier_id, _ = store_alone(store, config, EARLIER)
    answers = store_together(store, config, [GROUP[0], EARLIER, GROUP[1], GROUP[0]])
    cases = stored(store)
    assert sorted(cases) == ["T-1", "T-2", "T-early"]
    assert answers == [
        (cases["T-1"]["case_id"], False), (earlier_id, True),
        (cases["T-2"]["case_id"], False), (cases["T-1"]["case_id"], True),
    ]  # fmt: skip


def test_a_batch_that_fails_stores_nothing(store: Store, config: IntakeConfig) -> None:
    store_alone(store, config, EARLIER)
    failing = FailingBeforeCommit(store.unit_of_work)
    with pytest.raises(RuntimeError, match="before its commit"):
        store_submissions(failing, [GROUP[0], EARLIER, GROUP[1]], config, NOW)
    assert list(stored(store)) == ["T-early"]  # rolled back: not half a batch


def test_submissions_arriving_together_are_answered_each_duplicates_included(
    store: Store, config: IntakeConfig
) -> None:
    earlier_id, _ = store_alone(store, config, EARLIER)
    arriving = [*GROUP, EARLIER, GROUP[0]]  # a repeat of a stored ticket, and one twice in a go
    answers = concurrently(
        lambda new: store_alone(store, config, new), arriving, width=len(arriving)
    )
    cases = stored(store)
    assert sorted(cases) == ["T-1", "T-2", "T-3", "T-4", "T-5", "T-early"]
    numbers = [new.case.external_id for new in arriving]
    assert [case_id for case_id, _ in answers] == [cases[n]["case_id"] for n in numbers]
    assert answers[5] == (earlier_id, True)
    assert sum(duplicate for _, duplicate in answers) == 2  # the stored one and one of T-1's
