"""HTTP entrypoints that answer JSON, errors included: ``{"errors": [{"loc", "msg"}]}``."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from nameko.exceptions import RemoteError
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, WsgiApp
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.wrappers import Request, Response

from contracts.common import mask_phones_in
from kit import metrics
from kit.entrypoints import SignatureCheckedOnce
from kit.providers import RpcUnavailable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
RETRY_AFTER_SECONDS = 2
RETRY_AFTER_HEADER: dict[str, Any] = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
"""The ``Retry-After`` every 503 and 429 of ours carries, as OpenAPI documents it."""


class HttpError(Exception):
    status = 400

    def __init__(
        self, errors: Sequence[dict[str, Any]] | str, headers: dict[str, str] | None = None
    ):
        self.errors = [{"loc": [], "msg": errors}] if isinstance(errors, str) else list(errors)
        self.headers = headers or {}
        super().__init__(self.errors)


class BadRequest(HttpError):
    status = 400


class Unauthorized(HttpError):
    status = 401


class Forbidden(HttpError):
    status = 403


class NotFound(HttpError):
    status = 404


class Conflict(HttpError):
    status = 409


class PayloadTooLarge(HttpError):
    status = 413


class UnsupportedMediaType(HttpError):
    status = 415


class Unprocessable(HttpError):
    status = 422


class Unavailable(HttpError):
    status = 503


DRAINED_TIMES_THE_LIMIT = 4
"""A body over the limit but up to this many times it is read (and dropped) before the 413;
a larger one is refused unread, a client that asked ``Expect: 100-continue`` never sending it."""


def declared_over(request: Request, limit: int) -> bool:
    """Whether the body ``request`` declares is over ``limit`` bytes, to be refused before it
    is parsed. A client that writes its whole body before it reads (and closes after) would
    meet a reset connection, not the refusal, if the answer came with the body unread: so a
    body up to ``DRAINED_TIMES_THE_LIMIT`` times the limit is read and dropped first."""
    length = request.content_length
    if length is None or length <= limit:
        return False
    if length <= DRAINED_TIMES_THE_LIMIT * limit:
        while request.stream.read(64 * 1024):
            pass
    return True


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Every field at fault, in the public error shape."""
    return [
        {"loc": [str(part) for part in err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    if isinstance(payload, BaseModel):
        body = payload.model_dump_json()
    else:
        body = json.dumps(payload, ensure_ascii=False, default=str)
    return Response(body, status=status, headers=headers, mimetype="application/json")


def errors_response(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return json_response({"errors": [{"loc": [], "msg": message}]}, status, headers)


def http_exception_response(exc: HTTPException, message: str | None = None) -> Response:
    """werkzeug's own refusal in the error shape, keeping the headers it needs (a 405's
    ``Allow``) but not its HTML."""
    headers: dict[str, str] = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return errors_response(message or exc.description or exc.name, exc.code or 500, headers)


def unavailable(message: str) -> Response:
    """A 503 that tells the client when to try again: the failure is expected to pass."""
    return errors_response(message, 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})


def read_json_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body of a JSON request, refused early when too large or not JSON."""
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType("Content-Type must be application/json")
    body: bytes = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    try:
        json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from None
    except RecursionError:
        # a body nested thousands deep: refused, not a crash of the worker
        raise BadRequest("body is nested too deeply") from None
    return body


def read_json_object(request: Request) -> dict[str, Any]:
    """A JSON body that must be an object (``[]``, ``1`` or ``null`` are refused with 422)."""
    document = json.loads(read_json_body(request))
    if not isinstance(document, dict):
        raise Unprocessable([{"loc": [], "msg": "the body must be a JSON object"}])
    return document


class JsonWsgiApp(WsgiApp):  # type: ignore[misc]
    """nameko's WSGI app, except that a URL no entrypoint serves (werkzeug's routing refuses
    it before any entrypoint runs) is answered in the error shape too, not as an HTML page."""

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        # shallow, as nameko has it: nothing may read the body before the entrypoint does
        request = Request(environ, shallow=True)
        adapter = self.url_map.bind_to_environ(environ)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            if exc.code is None or exc.code < 400:  # a redirect (a missing trailing slash)
                return exc(environ, start_response)
            answer = http_exception_response(exc, unrouted_message(exc, request))
            return answer(environ, start_response)
        request.path_values = values  # type: ignore[attr-defined]  # where nameko reads them
        return provider.handle_request(request)(environ, start_response)


def unrouted_message(exc: HTTPException, request: Request) -> str:
    if isinstance(exc, MethodNotAllowed):
        return f"{request.method} is not allowed on {request.path}"
    if exc.code == 404:
        return f"nothing at {request.path}"
    return exc.description or exc.name


class NoNumbersInAccessLog(logging.Filter):
    """The access log's request lines without a citizen's number: a phone search asks with
    ``?phone=``, and a number may be anywhere in a URL. The value goes; the line stays."""

    _QUERY = re.compile(r"([?&]phone=)[^&\s\"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = mask_phones_in(self._QUERY.sub(r"\1***", message))
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


ACCESS_LOG = logging.getLogger("nameko.web.server")
"""The logger nameko hands eventlet's WSGI server for its access log."""
ACCESS_LOG.addFilter(NoNumbersInAccessLog())


class JsonWebServer(WebServer):  # type: ignore[misc]
    """nameko's web server with ``JsonWsgiApp``; shared by every ``JsonHttp`` entrypoint of
    a container, as nameko's own is by its ``http`` entrypoints."""

    def get_wsgi_app(self) -> JsonWsgiApp:
        return JsonWsgiApp(self)


class JsonHttp(SignatureCheckedOnce, HttpRequestHandler):  # type: ignore[misc]
    """nameko's ``http`` entrypoint, answering JSON and counting what it answers."""

    server = JsonWebServer()

    def __init__(self, method: str, url: str, **kwargs: Any) -> None:
        kwargs.setdefault("expected_exceptions", (HttpError, ValidationError))
        super().__init__(method, url, **kwargs)

    def handle_request(self, request: Request) -> Response:
        started = time.perf_counter()
        response: Response = super().handle_request(request)
        metrics.HTTP_REQUESTS.labels(self.url, self.method, str(response.status_code)).inc()
        metrics.HTTP_SECONDS.labels(self.url).observe(time.perf_counter() - started)
        return response

    def response_from_result(self, result: Any) -> Response:
        if isinstance(result, Response):
            return result
        return json_response(result)

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, HttpError):
            return json_response({"errors": exc.errors}, exc.status, exc.headers)
        if isinstance(exc, ValidationError):
            return json_response({"errors": validation_errors(exc)}, 422)
        if isinstance(exc, HTTPException):
            return http_exception_response(exc)
        if isinstance(exc, OperationalError):
            # The store is unavailable or locked: say so honestly so the client retries.
            log.warning("database unavailable: %s", exc)
            return unavailable("temporarily unable to store; retry")
        if isinstance(exc, RpcUnavailable):
            # Another service is down or slow: not this request's fault, and likely to pass.
            log.warning("%s %s: %s", self.method, self.url, exc)
            return unavailable("another service is not answering; retry")
        if isinstance(exc, RemoteError):
            # Another service crashed on the call: its message may hold its internals (SQL,
            # paths), so the client learns only that the failure is behind this service.
            log.error("remote error in %s %s", self.method, self.url, exc_info=exc)
            return errors_response("a service behind this one failed", 502)
        log.exception("unhandled error in %s %s", self.method, self.url, exc_info=exc)
        return errors_response("internal error", 500)


F = TypeVar("F", bound=Callable[..., Any])


def http(method: str, url: str, **kwargs: Any) -> Callable[[F], F]:
    """Serve ``method url`` (werkzeug rule syntax) with this method; answers are JSON."""
    return cast(Callable[[F], F], JsonHttp.decorator(method, url, **kwargs))


@contextmanager
def http_errors(mapping: Mapping[type[Exception], type[HttpError]]) -> Iterator[None]:
    """Translate a domain's refusals into HTTP answers at the edge, keeping the domain pure."""
    try:
        yield
    except tuple(mapping) as exc:
        for domain_error, http_error in mapping.items():
            if isinstance(exc, domain_error):
                raise http_error(str(exc)) from exc
        raise


def event_stream(request: Request, frames: Iterator[str]) -> Response:
    """A ``text/event-stream`` answer, each frame sent as it comes: eventlet's server would
    otherwise hold small writes back until it has 4 KiB."""
    request.environ["eventlet.minimum_write_chunk_size"] = 0
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Response(frames, mimetype="text/event-stream", headers=headers)
