"""A burst's rate buckets are locked at once, and take their tokens as one by one would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kit.db import Store
from services.notify.models import TABLES, Base, RateBucket
from services.notify.repository import DeliveryRepository
from services.notify.rules import Bucket
from tests.support.databases import store_with_tables

NOW = 1_800_000_000.0
PROVIDER = Bucket(rate=100, burst=50)
RECIPIENT = Bucket(rate=1, burst=2)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with store_with_tables(database_url, "notify", TABLES, Base.metadata) as store:
        yield store


def spent_elsewhere(store: Store, key: str, tokens: float) -> None:
    """A bucket another transaction used before: its tokens are what it left."""
    with store.unit_of_work() as uow:
        uow.session.add(RateBucket(key=key, tokens=tokens, updated=NOW))
        uow.commit()


def tokens(store: Store, prefix: str) -> dict[str, float]:
    with store.read() as session:
        rows = session.query(RateBucket).filter(RateBucket.key.startswith(prefix))
        return {row.key.removeprefix(prefix): round(row.tokens, 6) for row in rows}


def take_all(store: Store, prefix: str, held_at_once: bool) -> list[tuple[float, str]]:
    """Four texts to two citizens through one provider, in one transaction."""
    provider = f"{prefix}provider:aliyun"
    recipients = [f"{prefix}recipient:{who}" for who in "ABAA"]
    with store.unit_of_work() as uow:
        repo = DeliveryRepository(uow.session)
        if held_at_once:
            repo.hold_buckets({provider: PROVIDER} | dict.fromkeys(recipients, RECIPIENT), NOW)
        taken = [
            repo.take_tokens([(provider, PROVIDER), (key, RECIPIENT)], NOW) for key in recipients
        ]
        uow.commit()
    return [(wait, holder.removeprefix(prefix)) for wait, holder in taken]


def test_buckets_held_at_once_give_what_one_by_one_gives(store: Store) -> None:
    outcomes = {}
    for prefix, held_at_once in (("one:", False), ("all:", True)):
        spent_elsewhere(store, f"{prefix}recipient:B", 0.0)  # B was texted a moment ago
        outcomes[held_at_once] = (take_all(store, prefix, held_at_once), tokens(store, prefix))
    assert outcomes[True] == outcomes[False]
    taken, left = outcomes[True]
    assert [holder for _, holder in taken] == ["", "recipient:B", "", "recipient:A"]
    assert left == {"provider:aliyun": 48.0, "recipient:A": 0.0, "recipient:B": 0.0}


def test_a_bucket_already_held_is_not_asked_for_again(store: Store) -> None:
    spent_elsewhere(store, "recipient:A", 1.0)
    with store.unit_of_work() as uow:
        repo = DeliveryRepository(uow.session)
        repo.hold_buckets({"recipient:A": RECIPIENT}, NOW)
        held = uow.session.info["rate_buckets"]["recipient:A"]
        held.tokens = 0.5  # taken from in this transaction, not flushed yet
        repo.hold_buckets({"recipient:A": RECIPIENT, "recipient:C": RECIPIENT}, NOW)
        assert uow.session.info["rate_buckets"]["recipient:A"] is held
        assert held.tokens == 0.5
        assert uow.session.info["rate_buckets"]["recipient:C"].tokens == RECIPIENT.burst
