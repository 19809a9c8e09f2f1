"""Entrypoints check a call's arguments once per shape, with nameko's own verdicts."""

from __future__ import annotations

import inspect
from typing import Any

import nameko.extensions
import pytest
from nameko.exceptions import IncorrectSignature
from nameko.extensions import Entrypoint

from kit.entrypoints import SignatureCheckedOnce


class Service:
    def answer(self, request: Any, case_id: str) -> None: ...


class Checked(SignatureCheckedOnce, Entrypoint):  # type: ignore[misc]
    pass


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The calls nameko's own check makes to ``inspect.getcallargs``."""
    made: list[tuple[Any, ...]] = []
    getcallargs = inspect.getcallargs

    def counted(function: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(args)
        return getcallargs(function, *args, **kwargs)

    monkeypatch.setattr(nameko.extensions.inspect, "getcallargs", counted)
    return made


def entrypoint() -> Checked:
    checked = Checked()
    checked.container = type("Container", (), {"service_cls": Service})()
    checked.method_name = "answer"
    return checked


def test_a_fitting_call_is_checked_once_per_shape(checks: list[tuple[Any, ...]]) -> None:
    answering = entrypoint()
    for case_id in ("CF1", "CF2", "CF3"):
        answering.check_signature(("request",), {"case_id": case_id})
    answering.check_signature(("request", "CF4"), {})
    assert len(checks) == 2


def test_a_call_that_does_not_fit_is_refused_every_time_with_nameko_s_reason(
    checks: list[tuple[Any, ...]],
) -> None:
    answering = entrypoint()
    for _ in range(3):
        with pytest.raises(IncorrectSignature, match="case_id"):
            answering.check_signature(("request",), {})
    with pytest.raises(IncorrectSignature, match="unexpected keyword"):
        answering.check_signature(("request",), {"case_id": "CF1", "page": 2})
    assert len(checks) == 2
    answering.check_signature(("request",), {"case_id": "CF1"})  # another shape still fits
    assert len(checks) == 3
