"""The group commit's writer: callers waiting together are stored together, each gets its own
answer, and a bad item fails its own caller only."""

from __future__ import annotations

from collections.abc import Iterator

import eventlet
import pytest

from kit.group_commit import Writer


class Store:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def store_all(self, items: list[str]) -> list[str]:
        self.batches.append(list(items))
        if "bad" in items:
            raise ValueError("cannot store 'bad'")
        eventlet.sleep(0.01)  # a transaction takes a while: others gather meanwhile
        return [item.upper() for item in items]


def callers(writer: Writer[str, str], store: Store, items: list[str]) -> list[object]:
    def call(item: str) -> object:
        try:
            return writer.store(item, store.store_all)
        except ValueError as exc:
            return exc

    pool = eventlet.GreenPool()
    return list(pool.imap(call, items))


@pytest.fixture
def writer() -> Iterator[Writer[str, str]]:
    writer: Writer[str, str] = Writer(batch_size=5)
    running = eventlet.spawn(writer.run)
    yield writer
    writer.stop()
    running.wait()


def test_callers_waiting_together_are_stored_together_and_each_gets_its_answer(
    writer: Writer[str, str],
) -> None:
    store = Store()
    answers = callers(writer, store, [f"c{n}" for n in range(12)])
    assert answers == [f"C{n}" for n in range(12)]
    assert sorted(item for batch in store.batches for item in batch) == sorted(
        f"c{n}" for n in range(12)
    )
    assert len(store.batches) < 12  # not one transaction each
    assert max(len(batch) for batch in store.batches) <= 5  # the batch size holds


def test_a_lone_caller_is_stored_at_once(writer: Writer[str, str]) -> None:
    store = Store()
    assert writer.store("alone", store.store_all) == "ALONE"
    assert store.batches == [["alone"]]


def test_a_bad_item_fails_its_own_caller_and_the_others_are_stored(
    writer: Writer[str, str],
) -> None:
    store = Store()
    answers = callers(writer, store, ["a", "b", "bad", "c"])
    assert answers[0:2] == ["A", "B"] and answers[3] == "C"
    assert isinstance(answers[2], ValueError)
    assert ["bad"] in store.batches  # the failed batch was retried item by item
