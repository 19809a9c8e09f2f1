"""What every request-answering entrypoint of the kit shares."""

from __future__ import annotations

from typing import Any

from nameko.exceptions import IncorrectSignature


class SignatureCheckedOnce:
    """nameko checks a call's arguments against the method's signature with
    ``inspect.getcallargs`` on every request (a few per cent of intake's CPU). Whether they
    fit depends only on how many positional arguments come and which keywords, so each shape
    is checked once and its verdict kept."""

    _verdicts: dict[tuple[int, frozenset[str]], str | None]

    def check_signature(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        verdicts = self.__dict__.setdefault("_verdicts", {})
        shape = (len(args), frozenset(kwargs))
        if shape not in verdicts:
            try:
                super().check_signature(args, kwargs)  # type: ignore[misc]
            except IncorrectSignature as exc:
                verdicts[shape] = str(exc)
            else:
                verdicts[shape] = None
        if verdicts[shape] is not None:
            raise IncorrectSignature(verdicts[shape])
