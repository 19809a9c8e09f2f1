"""Kept answers: asked once within their time, again after it or after a clear."""

from __future__ import annotations

import pytest

from kit.cache import KeptAnswers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_asked_once_within_its_time_and_again_after() -> None:
    clock, asked = Clock(), []
    kept: KeptAnswers[str, int] = KeptAnswers(ttl=30.0, clock=clock)

    def ask() -> int:
        asked.append(1)
        return len(asked)

    assert kept.get("q", ask) == 1
    clock.now = 29.9
    assert kept.get("q", ask) == 1
    clock.now = 30.0
    assert kept.get("q", ask) == 2
    assert len(asked) == 2


def test_questions_are_kept_apart_and_a_clear_forgets_them_all() -> None:
    kept: KeptAnswers[tuple[str, str], str] = KeptAnswers(ttl=60.0, clock=Clock())
    assert kept.get(("G1", "worker"), lambda: "a") == "a"
    assert kept.get(("G2", "worker"), lambda: "b") == "b"
    assert kept.get(("G1", "worker"), lambda: "changed") == "a"
    kept.clear()
    assert len(kept) == 0
    assert kept.get(("G1", "worker"), lambda: "changed") == "changed"


def test_a_failed_question_is_not_kept() -> None:
    kept: KeptAnswers[str, str] = KeptAnswers(ttl=60.0, clock=Clock())

    def silent() -> str:
        raise TimeoutError("no answer")

    with pytest.raises(TimeoutError):
        kept.get("q", silent)
    assert kept.get("q", lambda: "now") == "now"
