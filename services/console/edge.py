"""The console's HTTP edge: what a request carries (its bearer token, an optional JSON body),
the console's refusals and other services' as statuses in the public error shape, and the
files of the web UI."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from kit.rpc import RemoteError
from kit.web import (
    Conflict,
    Forbidden,
    HttpError,
    NotFound,
    Unauthorized,
    Unprocessable,
    read_json_body,
)
from services.console import refusals
from services.console.admin import BadUser
from services.console.domain import AuthError
from services.console.ports import Dispatch

STATIC = Path(__file__).resolve().parent / "static"
CONFLICTS = frozenset({"IllegalTransition", "NotYourCase", "StaleCase", "StaleDataError"})
NOT_FOUND = frozenset({"CaseNotFound", "UnknownCase", "UnknownOrder", "NoSuchSubscription"})
UNPROCESSABLE = frozenset(
    {"ValidationError", "OrderRefused", "ValueError", "BadCommand", "NotARedCard"}
)
"""Other services' refusals, by the name of the exception they raise."""


def bearer_token(request: Request, token: str | None = None) -> str:
    """The token of ``Authorization: Bearer …`` (or the one given: an event stream cannot
    send headers from a browser, so it comes in the query)."""
    if token is None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            token = ""
    if not token:
        raise Unauthorized("a bearer token is required", {"WWW-Authenticate": "Bearer"})
    return token


def optional_json(request: Request) -> Any:
    """The JSON body, or ``{}`` when there is none."""
    return json.loads(read_json_body(request)) if request.content_length else {}


class TooMany(HttpError):
    status = 429

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message, {"Retry-After": str(int(wait) + 1)})


def refused(exc: Exception) -> HttpError:
    """The answer to one of the console's refusals."""
    message = str(exc)
    if isinstance(exc, refusals.TooManyLogins):
        return TooMany(message, exc.wait)
    if isinstance(exc, refusals.BadField):
        return Unprocessable([{"loc": [exc.field], "msg": exc.problem}])
    if isinstance(exc, refusals.BadFields):
        return Unprocessable([{"loc": [field], "msg": problem} for field, problem in exc.problems])
    if isinstance(exc, refusals.NotFound):
        return NotFound(message)
    if isinstance(exc, refusals.NotPermitted):
        return Forbidden(message)
    if isinstance(exc, refusals.Clash):
        return Conflict(message)
    if isinstance(exc, AuthError):
        return Unauthorized(message)
    return Unprocessable(message)  # BadUser: the message names the field


@contextmanager
def answers(dispatch: Dispatch | None = None, subject: str = "") -> Iterator[None]:
    """The console's refusals as HTTP answers; given ``dispatch``, other services' refusals
    too, a 409 saying where the case ``subject`` is now."""
    try:
        yield
    except (refusals.Refusal, AuthError, BadUser) as exc:
        raise refused(exc) from None
    except RemoteError as exc:
        answer = remote_refusal(exc, dispatch, subject) if dispatch is not None else None
        if answer is None:
            # Any other failure is the remote service's, not the client's: the kit answers
            # 502 and logs it, without passing its message (which may hold internals) on.
            raise
        raise answer from None


def remote_refusal(exc: RemoteError, dispatch: Dispatch, subject: str) -> HttpError | None:
    """Another service's refusal as an HTTP answer (None: not a refusal)."""
    message = str(exc.value)
    if exc.exc_type in NOT_FOUND:
        return NotFound(f"no {subject}")
    if exc.exc_type in UNPROCESSABLE:
        field, _, problem = message.partition(": ")
        return Unprocessable([{"loc": [field], "msg": problem or message}])
    if exc.exc_type == "OrderAnswered":
        return Conflict(message)
    if exc.exc_type in CONFLICTS:
        case = dispatch.get_case(subject) or {}
        return Conflict(
            [{"loc": [], "msg": message, "status": case.get("status"),
              "allowed_actions": case.get("actions", [])}]
        )  # fmt: skip
    return None


def static_file(path: str) -> Response:
    """A file of the UI; nothing outside its folder."""
    try:
        target = (STATIC / path).resolve()
    except (ValueError, OSError):  # a NUL byte in the path
        raise NotFound(f"no file {path}") from None
    if not target.is_file() or STATIC not in target.parents:
        raise NotFound(f"no file {path}")
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if target.suffix == ".js":
        kind = "text/javascript"
    return Response(target.read_bytes(), mimetype=kind, headers={"Cache-Control": "no-cache"})
