"""Answers of another service kept for a while, so a hot path does not ask again per message."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeptAnswers(Generic[K, V]):
    """Answers by question, each kept ``ttl`` seconds at most.

    Cleared at once when the owner of the data says it changed (an event); the time limit
    covers the instances that event did not reach, since a work queue hands each message to
    one instance of a competing group only.
    """

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._kept: dict[K, tuple[float, V]] = {}

    def get(self, question: K, ask: Callable[[], V]) -> V:
        """The kept answer, or ``ask()``'s (kept from now on). What ``ask`` raises is not
        kept: the next call asks again."""
        now = self._clock()
        kept = self._kept.get(question)
        if kept is not None and now - kept[0] < self.ttl:
            return kept[1]
        answer = ask()
        self._kept[question] = (now, answer)
        return answer

    def clear(self) -> None:
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
