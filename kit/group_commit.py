"""Group commit: callers that each have one item to store hand it to one writer, which stores
whatever has gathered in one transaction and answers each caller.

A transaction costs far more than one more row in it, and SQLite takes one writer at a time
anyway: sixteen HTTP clients that each commit alone queue for the same lock and pay for sixteen
commits. Here a caller waits for its answer while the writer stores the items that came in
meanwhile together, through the same handler a batch from the broker goes through. A quiet
service writes batches of one, as fast as before; a busy one writes fewer, larger ones.

If a batch fails as a whole, each of its items is stored alone, so that one bad item fails its
own caller only.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import eventlet
from eventlet.event import Event
from eventlet.queue import Empty, LightQueue
from nameko.extensions import DependencyProvider

from kit.providers import Injected

T = TypeVar("T")
R = TypeVar("R")

StoreAll = Callable[[list[T]], list[R]]
"""Stores items in one transaction and answers each, in order."""


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    store_all: StoreAll[T, R]
    answer: Event = field(default_factory=Event)


_STOP: Any = object()


class Writer(Generic[T, R]):
    """One writer for many callers: ``store`` blocks the calling green thread until the
    writer has stored its item, with whatever else was waiting, and returns its answer (or
    raises what storing it raised)."""

    def __init__(self, batch_size: int = 100) -> None:
        self.batch_size = batch_size
        self._waiting: LightQueue = LightQueue()

    def store(self, item: T, store_all: StoreAll[T, R]) -> R:
        """Every caller of one writer hands in the same ``store_all``: the writer uses the
        first waiting caller's for the batch."""
        waiting = _Waiting(item, store_all)
        self._waiting.put(waiting)
        answer: R = waiting.answer.wait()
        return answer

    def run(self) -> None:
        """Store batches until ``stop``; each batch is what waited when the last one ended."""
        while (first := self._waiting.get()) is not _STOP:
            batch = [first]
            while len(batch) < self.batch_size:
                try:
                    batch.append(self._waiting.get_nowait())
                except Empty:
                    break
            self._store(batch)
            eventlet.sleep(0)  # the callers just answered may hand in their next items

    def stop(self) -> None:
        self._waiting.put(_STOP)

    def _store(self, batch: list[_Waiting[T, R]]) -> None:
        try:
            answers = batch[0].store_all([waiting.item for waiting in batch])
        except Exception:
            if len(batch) == 1:
                batch[0].answer.send_exception(*sys.exc_info())
                return
            for waiting in batch:  # which item failed? each alone finds out
                self._store([waiting])
            return
        for waiting, answer in zip(batch, answers, strict=True):
            waiting.answer.send(answer)


class GroupCommit(Injected["Writer[Any, Any]"], DependencyProvider):  # type: ignore[misc]
    """The service's writer, running as long as its container."""

    def __init__(self, batch_size: int = 100) -> None:
        self.batch_size = batch_size

    def setup(self) -> None:
        self.writer: Writer[Any, Any] = Writer(self.batch_size)

    def start(self) -> None:
        self.container.spawn_managed_thread(self.writer.run, identifier="group-commit")

    def stop(self) -> None:
        self.writer.stop()

    def get_dependency(self, worker_ctx: Any) -> Writer[Any, Any]:
        return self.writer
