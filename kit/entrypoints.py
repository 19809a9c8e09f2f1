"""What every request-answering entrypoint of the kit shares."""

from __future__ import annotations

from typing import Any

from nameko.exceptions import IncorrectSignature
from nameko.extensions import Entrypoint


class SignatureCheckedOnce(Entrypoint):  # type: ignore[misc]
    """nameko checks a call's arguments against the method's signature with
    ``inspect.getcallargs`` on every request (a few per cent of intake's CPU). Whether they
    fit depends only on how many positional arguments come and which keywords, so each shape
    is checked once, by nameko, and its verdict kept."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.signature_verdicts: dict[tuple[int, frozenset[str]], str | None] = {}
        super().__init__(*args, **kwargs)

    def check_signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        shape = (len(args), frozenset(kwargs))
        if shape not in self.signature_verdicts:
            try:
                super().check_signature(args, kwargs)
            except IncorrectSignature as exc:
                self.signature_verdicts[shape] = str(exc)
            else:
                self.signature_verdicts[shape] = None
        verdict = self.signature_verdicts[shape]
        if verdict is not None:
            raise IncorrectSignature(verdict)
