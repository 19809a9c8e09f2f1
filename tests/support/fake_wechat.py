"""Local stand-ins for the WeCom group-robot webhook and the WeChat official-account API.

Each fake checks a request as the provider does and answers the provider's own bodies:

- ``FakeWeComRobot``: ``POST /cgi-bin/webhook/send?key=KEY``; the key must be a known one
  (else 93000), the JSON must carry a ``msgtype`` it knows (else 40008) and non-empty
  content (else 44004) within 2048 bytes for text, 4096 for markdown (else 40058); a key
  takes 20 messages a minute (else 45009).
- ``FakeWeChat``: ``GET /cgi-bin/token`` issues tokens for the right appid and secret only
  (40013, 40125), counted in ``tokens_issued``; ``POST /cgi-bin/message/template/send``
  takes only a token it issued and has not expired (``expire_tokens()``: 42001), a
  follower's openid (40003, or 43004 for one who unsubscribed), a known template id
  (40037) with a value for each of its keys (47003, also for a ``thing`` over 20
  characters), and answers a ``msgid``.

Both take scripted outcomes (``script(Outcome.error(45009), Outcome.http(500), ...)``),
spent one per request before any check; the requests they accepted are in ``accepted``.
``serve(fake)`` runs one on 127.0.0.1 in a thread and yields its base URL::

    robot = FakeWeComRobot(keys={"k1"})
    with serve(robot) as base_url:
        ...
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, urlsplit

JSON_TYPE = "application/json; charset=utf-8"

WECOM_ERRMSG = {
    -1: "system busy",
    40008: "invalid message type",
    40058: "invalid Request Parameter",
    44004: "empty content",
    45009: "api freq out of limit",
    93000: "invalid webhook url",
}
WECHAT_ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43004: "require subscribe",
    45009: "reach max api daily quota limit",
    45047: "out of response count limit",
    47001: "data format error",
    47003: "argument invalid!",
}


@dataclass(frozen=True)
class Outcome:
    """What the fake answers to one request instead of checking it: an ``errcode`` (HTTP
    200 with the provider's error body), another HTTP status, or (neither) the normal
    answer, ``delay`` seconds late."""

    status: int = 200
    errcode: int | None = None
    errmsg: str | None = None
    delay: float = 0.0

    @classmethod
    def error(cls, errcode: int, errmsg: str | None = None) -> Outcome:
        return cls(errcode=errcode, errmsg=errmsg)

    @classmethod
    def http(cls, status: int) -> Outcome:
        return cls(status=status)

    @classmethod
    def slow(cls, seconds: float) -> Outcome:
        """The normal answer (message accepted and recorded) after ``seconds``: a client
        that gave up earlier still got its message through, as with the real providers."""
        return cls(delay=seconds)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    delay: float = 0.0
    content_type: str = JSON_TYPE


def _json_reply(value: Mapping[str, Any], delay: float = 0.0) -> Reply:
    return Reply(200, json.dumps(value, ensure_ascii=False).encode("utf-8"), delay)


def _http_reply(status: int, delay: float = 0.0) -> Reply:
    # What a gateway in front of the API shows: a page, not the API's JSON.
    page = f"<html><body><h1>{status}</h1></body></html>".encode()
    return Reply(status, page, delay, "text/html")


class FakeProvider:
    """What both fakes share: the scripted outcomes and every request seen."""

    errmsgs: ClassVar[Mapping[int, str]] = {}

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: deque[Outcome] = deque()
        self.requests: list[Request] = []

    def script(self, *outcomes: Outcome) -> None:
        """Outcomes for the next requests (of the send endpoint), in order."""
        with self.lock:
            self.outcomes.extend(outcomes)

    def answer(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            return self.route(request)

    def route(self, request: Request) -> Reply:
        raise NotImplementedError

    def error(self, errcode: int, errmsg: str | None = None, delay: float = 0.0) -> Reply:
        return _json_reply({"errcode": errcode, "errmsg": self.errmsg(errcode, errmsg)}, delay)

    def errmsg(self, errcode: int, errmsg: str | None) -> str:
        return errmsg or self.errmsgs.get(errcode, "error")

    def scripted(self, queue: deque[Outcome], handle: Callable[[float], Reply]) -> Reply:
        """The next scripted outcome's reply, or ``handle``'s (the checks) when none."""
        if not queue:
            return handle(0.0)
        outcome = queue.popleft()
        if outcome.status != 200:
            return _http_reply(outcome.status, outcome.delay)
        if outcome.errcode is not None:
            return self.error(outcome.errcode, outcome.errmsg, outcome.delay)
        return handle(outcome.delay)


@dataclass(frozen=True)
class RobotMessage:
    """A message a robot posted to its group."""

    key: str
    msgtype: str
    content: str
    mentioned_mobile_list: list[str] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)


class FakeWeComRobot(FakeProvider):
    """The group-robot webhook of ``qyapi.weixin.qq.com``."""

    errmsgs = WECOM_ERRMSG
    limits: ClassVar[Mapping[str, int]] = {"text": 2048, "markdown": 4096}

    def __init__(
        self,
        keys: Iterable[str],
        per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.keys = set(keys)
        self.per_minute = per_minute
        self.clock = clock
        self.accepted: list[RobotMessage] = []
        self._sent: dict[str, deque[float]] = {}

    def error(self, errcode: int, errmsg: str | None = None, delay: float = 0.0) -> Reply:
        # The real errmsg goes on with a hint and a link to the error code's page.
        text = (
            f"{self.errmsg(errcode, errmsg)}, hint: [{secrets.token_hex(8)}], more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={errcode}"
        )
        return _json_reply({"errcode": errcode, "errmsg": text}, delay)

    def route(self, request: Request) -> Reply:
        if request.path != "/cgi-bin/webhook/send" or request.method != "POST":
            return _http_reply(404)
        return self.scripted(self.outcomes, lambda delay: self._send(request, delay))

    def _send(self, request: Request, delay: float) -> Reply:
        key = request.query.get("key", "")
        if key not in self.keys:
            return self.error(93000, delay=delay)
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self.error(40008, "Warning: wrong json format. invalid message type", delay)
        msgtype = body.get("msgtype")
        if not isinstance(msgtype, str) or msgtype not in self.limits:
            return self.error(40008, delay=delay)
        part = body.get(msgtype)
        if not isinstance(part, dict):
            return self.error(44004, delay=delay)
        content = part.get("content")
        if not isinstance(content, str) or not content:
            return self.error(44004, delay=delay)
        limit = self.limits[msgtype]
        if len(content.encode("utf-8")) > limit:
            return self.error(40058, f"{msgtype}.content exceed max length {limit}", delay)
        now = self.clock()
        sent = self._sent.setdefault(key, deque())
        while sent and now - sent[0] >= 60:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return self.error(45009, delay=delay)
        sent.append(now)
        mobiles = part.get("mentioned_mobile_list") or []
        self.accepted.append(RobotMessage(key, msgtype, content, list(mobiles), body))
        return _json_reply({"errcode": 0, "errmsg": "ok"}, delay)


@dataclass(frozen=True)
class TemplateMessage:
    """A template message WeChat took."""

    msgid: int
    touser: str
    template_id: str
    values: dict[str, str]
    """WeChat data key → value."""
    url: str | None = None
    token: str = ""


class FakeWeChat(FakeProvider):
    """The official-account API of ``api.weixin.qq.com``: tokens and template messages."""

    errmsgs = WECHAT_ERRMSG
    first_msgid = 200228332
    value_limits: ClassVar[Mapping[str, int]] = {"thing": 20}

    def __init__(
        self,
        appid: str,
        secret: str,
        templates: Mapping[str, Sequence[str]],
        followers: Iterable[str],
        unsubscribed: Iterable[str] = (),
        expires_in: int = 7200,
    ) -> None:
        """``templates``: template id → its data keys (``thing1``, ``time2`` …)."""
        super().__init__()
        self.appid = appid
        self.secret = secret
        self.templates = {key: tuple(value) for key, value in templates.items()}
        self.followers = set(followers)
        self.unsubscribed = set(unsubscribed)
        self.expires_in = expires_in
        self.token_outcomes: deque[Outcome] = deque()
        self.tokens_issued = 0
        self.token_requests = 0
        self.send_requests = 0
        self.accepted: list[TemplateMessage] = []
        self._valid: set[str] = set()
        self._expired: set[str] = set()

    def error(self, errcode: int, errmsg: str | None = None, delay: float = 0.0) -> Reply:
        rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        text = f"{self.errmsg(errcode, errmsg)} rid: {rid}"
        return _json_reply({"errcode": errcode, "errmsg": text}, delay)

    def script_token(self, *outcomes: Outcome) -> None:
        """Outcomes for the next token requests, in order."""
        with self.lock:
            self.token_outcomes.extend(outcomes)

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (sends with one answer 42001)."""
        with self.lock:
            self._expired |= self._valid
            self._valid.clear()

    @property
    def valid_tokens(self) -> set[str]:
        with self.lock:
            return set(self._valid)

    def route(self, request: Request) -> Reply:
        if request.path == "/cgi-bin/token" and request.method == "GET":
            self.token_requests += 1
            return self.scripted(self.token_outcomes, lambda delay: self._token(request, delay))
        if request.path == "/cgi-bin/message/template/send" and request.method == "POST":
            self.send_requests += 1
            return self.scripted(self.outcomes, lambda delay: self._send(request, delay))
        return _http_reply(404)

    def _token(self, request: Request, delay: float) -> Reply:
        query = request.query
        if query.get("grant_type") != "client_credential":
            return self.error(40002, delay=delay)
        if not query.get("appid"):
            return self.error(41002, delay=delay)
        if query["appid"] != self.appid:
            return self.error(40013, delay=delay)
        if not query.get("secret"):
            return self.error(41004, delay=delay)
        if query["secret"] != self.secret:
            return self.error(40125, delay=delay)
        self.tokens_issued += 1
        token = f"{self.tokens_issued}_{secrets.token_urlsafe(48)}"
        self._valid.add(token)
        return _json_reply({"access_token": token, "expires_in": self.expires_in}, delay)

    def _send(self, request: Request, delay: float) -> Reply:
        token = request.query.get("access_token", "")
        if not token:
            return self.error(41001, delay=delay)
        if token in self._expired:
            return self.error(42001, delay=delay)
        if token not in self._valid:
            return self.error(40001, delay=delay)
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self.error(47001, delay=delay)
        touser = body.get("touser")
        if touser in self.unsubscribed:
            return self.error(43004, delay=delay)
        if touser not in self.followers:
            return self.error(40003, delay=delay)
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or template_id not in self.templates:
            return self.error(40037, delay=delay)
        data = body.get("data")
        url = body.get("url")
        if not isinstance(data, dict) or not (url is None or isinstance(url, str)):
            return self.error(47001, delay=delay)
        values: dict[str, str] = {}
        for key in self.templates[template_id]:
            entry = data.get(key)
            value = entry.get("value") if isinstance(entry, dict) else None
            if not isinstance(value, str) or not value:
                return self.error(47003, f"argument invalid! data.{key}.value is empty", delay)
            limit = self.value_limits.get(key.rstrip("0123456789"))
            if limit is not None and len(value) > limit:
                return self.error(47003, f"argument invalid! data.{key}.value invalid", delay)
            values[key] = value
        msgid = self.first_msgid + len(self.accepted)
        self.accepted.append(TemplateMessage(msgid, str(touser), template_id, values, url, token))
        return _json_reply({"errcode": 0, "errmsg": "ok", "msgid": msgid}, delay)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeProvider) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out has gone before the late answer: nothing to report.
        pass


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake = cast(_Server, self.server).fake
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            body=self.rfile.read(length) if length else b"",
        )
        reply = fake.answer(request)
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet: pytest shows the tests' own output, not an access log.
        pass


@contextmanager
def serve(fake: FakeProvider) -> Iterator[str]:
    """Run ``fake`` on a free port of 127.0.0.1 while the block runs; its base URL."""
    server = _Server(fake)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
