"""微信公众号模板消息: a template message to one follower of the official account.

An access token from ``GET {base}/cgi-bin/token`` (cached until shortly before it expires,
shared by every send of the gateway, one fetch at a time), then
``POST {base}/cgi-bin/message/template/send?access_token=TOKEN`` with the openid, the
template's id on WeChat and its data; the answer carries the ``msgid`` that the
``TEMPLATESENDJOBFINISH`` event pushed to our server later names (``parse_job_finish``).
``verify_server_signature`` checks that such a push comes from WeChat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn
from xml.parsers import expat

import requests

from services.notify.gateways.base import GatewayChannel, GatewayError, Message, Receipt

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
TOKEN_PATH = "/cgi-bin/token"
SEND_PATH = "/cgi-bin/message/template/send"

TOKEN_CODES = frozenset({40001, 40014, 42001})
"""On a send: invalid credential, invalid access_token, access_token expired. Another
server fetching a token for the same account makes ours stale (WeChat keeps the old one
five more minutes), so one refresh and one more try."""
TRANSIENT_CODES = frozenset({-1, 45009, 45047})
"""-1 system busy; 45009 API calls over the (daily) quota; 45047 out of response count limit."""
PERMANENT_CODES = frozenset({43004, 40003, 40037, 47003, 40013, 40125, 40164})
"""43004 require subscribe; 40003 invalid openid; 40037 invalid template_id; 47003 argument
invalid; 40013 invalid appid; 40125 invalid appsecret; 40164 caller's IP not whitelisted.
For the reader: any code not transient is permanent."""
UNMAPPED = "template.unmapped"
PARAM_MISSING = "template.param_missing"

VALUE_LIMITS = {"thing": 20}
"""Characters a value of a keyword type may have: ``thing`` (free text) at most 20, else
WeChat answers 47003. Only free text is cut: a number or a time cut short would be wrong."""
ELLIPSIS = "…"
JOB_FINISH_EVENT = "TEMPLATESENDJOBFINISH"
DELIVERED_STATUS = "success"


@dataclass(frozen=True)
class WeChatTemplateConfig:
    appid: str
    secret: str
    templates: Mapping[str, tuple[str, Mapping[str, str]]] = field(default_factory=dict)
    """Our template name → (WeChat template id, WeChat data key → our param name), e.g.
    ``{"case_overdue": ("tmplXYZ", {"thing1": "summary", "time2": "deadline"})}``."""
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 5.0
    """Seconds, for connecting and for each read."""
    token_margin: float = 300.0
    """Seconds before its ``expires_in`` that a token is fetched anew."""
    link_param: str = "url"
    """The ``Message.params`` key whose value, when present, is the message's link."""


def mask(secret: str) -> str:
    """Enough of an openid to tell two apart in a log, not enough to use it."""
    return secret[:4] + "…" if len(secret) > 4 else "…"


def fit_value(key: str, value: str) -> str:
    """``value`` cut to what WeChat accepts for the keyword type of ``key`` (``thing3`` is
    of type ``thing``)."""
    kind = re.sub(r"\d+$", "", key)
    limit = VALUE_LIMITS.get(kind)
    if limit is None or len(value) <= limit:
        return value
    return value[: limit - len(ELLIPSIS)] + ELLIPSIS


def build_payload(message: Message, config: WeChatTemplateConfig) -> dict[str, Any]:
    """The JSON body of the send, without the token."""
    mapped = config.templates.get(message.template)
    if mapped is None:
        raise GatewayError(
            f"no WeChat template for {message.template!r}", transient=False, code=UNMAPPED
        )
    template_id, fields = mapped
    data: dict[str, dict[str, str]] = {}
    for key, param in fields.items():
        value = message.params.get(param, "")
        if not value:
            # WeChat would answer 47003 "data.<key>.value is empty": no use asking.
            raise GatewayError(
                f"{message.template}: no value for {param!r} ({key})",
                transient=False,
                code=PARAM_MISSING,
            )
        data[key] = {"value": fit_value(key, value)}
    payload: dict[str, Any] = {"touser": message.address, "template_id": template_id}
    link = message.params.get(config.link_param, "")
    if link:
        payload["url"] = link
    payload["data"] = data
    return payload


def token_lifetime(expires_in: float, margin: float) -> float:
    """Seconds to keep a token: ``margin`` short of its life, but never less than half of it
    (a short-lived token would otherwise be fetched again on every send)."""
    return max(expires_in - margin, expires_in / 2)


def parse_answer(status: int, body: bytes) -> dict[str, Any]:
    """The JSON object of an HTTP answer; ``GatewayError`` for an HTTP error or no JSON."""
    if status >= 500 or status == 429:
        raise GatewayError(f"HTTP {status}", transient=True, code=f"http.{status}")
    if status >= 400:
        raise GatewayError(f"HTTP {status}", transient=False, code=f"http.{status}")
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        # A proxy's page instead of the API's JSON: WeChat may never have seen the call.
        raise GatewayError("answer is not the API's JSON", transient=True, code="response.invalid")
    return answer


def raise_for_errcode(answer: Mapping[str, Any], what: str) -> None:
    """Raise the ``GatewayError`` of a non-zero ``errcode``."""
    errcode = answer.get("errcode", 0)
    if errcode in (0, None):
        return
    raise GatewayError(
        f"WeChat {what}: {errcode} {answer.get('errmsg', '')}",
        transient=errcode in TRANSIENT_CODES,
        code=str(errcode),
    )


def token_from_answer(answer: Mapping[str, Any]) -> tuple[str, float]:
    """(access token, expires_in) of a token answer, or the ``GatewayError`` it means.

    At this endpoint 40001 means a wrong AppSecret (older accounts get it instead of
    40125): permanent, as every code but -1 and 45009."""
    raise_for_errcode(answer, "token")
    token = answer.get("access_token")
    expires_in = answer.get("expires_in")
    if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
        raise GatewayError("token answer without a token", transient=True, code="response.invalid")
    return token, float(expires_in)


def msgid_from_answer(answer: Mapping[str, Any]) -> str:
    """The message id of a send's answer, or the ``GatewayError`` it means."""
    raise_for_errcode(answer, "template send")
    msgid = answer.get("msgid")
    if msgid is None:
        # Sent all the same: an id of ours rather than a retry that would send it twice.
        return uuid.uuid4().hex
    return str(msgid)


@dataclass(frozen=True)
class _Token:
    value: str
    fresh_until: float


class AccessTokenCache:
    """One access token for every send, fetched by one caller at a time.

    Under eventlet the lock is green (monkey-patched ``threading``): a greenlet that finds
    a fetch under way waits for its token instead of fetching another, which would make the
    first one stale.
    """

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        margin: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: _Token | None = None

    def get(self) -> str:
        token = self._fresh()
        if token is not None:
            return token
        with self._lock:
            return self._fresh() or self._renew()

    def refresh(self, stale: str) -> str:
        """A token other than ``stale``, which WeChat refused: fetched unless another caller
        already did."""
        with self._lock:
            token = self._token
            if token is not None and token.value != stale and self._clock() < token.fresh_until:
                return token.value
            return self._renew()

    def _fresh(self) -> str | None:
        token = self._token
        if token is not None and self._clock() < token.fresh_until:
            return token.value
        return None

    def _renew(self) -> str:
        self._token = None
        value, expires_in = self._fetch()
        lifetime = token_lifetime(expires_in, self._margin)
        self._token = _Token(value, self._clock() + lifetime)
        return value


class WeChatTemplateGateway:
    """An official account's template messages: ``send`` to the openid of
    ``Message.address`` the WeChat template that ``Message.template`` is mapped to."""

    name = "wechat"
    channel: GatewayChannel = "wechat"

    def __init__(
        self,
        config: WeChatTemplateConfig,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._session = session or requests.Session()
        self._base = config.base_url.rstrip("/")
        self.tokens = AccessTokenCache(self._fetch_token, config.token_margin, clock)

    def send(self, message: Message) -> str:
        payload = build_payload(message, self.config)
        shown = mask(message.address)
        try:
            token = self.tokens.get()
            answer = self._post(token, payload)
            if answer.get("errcode") in TOKEN_CODES:
                log.info("wechat: token refused (%s), fetching another", answer.get("errcode"))
                answer = self._post(self.tokens.refresh(token), payload)
                if answer.get("errcode") in TOKEN_CODES:
                    # A fresh token refused at once: another server keeps renewing it.
                    raise GatewayError(
                        f"WeChat template send: {answer['errcode']} after a token refresh",
                        transient=True,
                        code=str(answer["errcode"]),
                    )
            msgid = msgid_from_answer(answer)
        except GatewayError as exc:
            log.warning("wechat to %s: %s (code %s)", shown, exc, exc.code)
            raise
        log.info("wechat to %s: sent %s (msgid %s)", shown, message.template, msgid)
        return msgid

    def close(self) -> None:
        self._session.close()

    def _fetch_token(self) -> tuple[str, float]:
        params = {
            "grant_type": "client_credential",
            "appid": self.config.appid,
            "secret": self.config.secret,
        }
        response = self._call("GET", TOKEN_PATH, params=params)
        token = token_from_answer(parse_answer(response.status_code, response.content))
        log.info("wechat: access token fetched for %s", self.config.appid)
        return token

    def _post(self, token: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        response = self._call("POST", SEND_PATH, params={"access_token": token}, json=payload)
        return parse_answer(response.status_code, response.content)

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(
                method, self._base + path, timeout=self.config.timeout, **kwargs
            )
        except requests.Timeout as exc:
            # A send may have gone all the same: a retry can deliver it twice.
            raise GatewayError("timed out", transient=True, code="timeout") from exc
        except requests.RequestException as exc:
            # Not str(exc): requests puts the URL, secret or token included, in its messages.
            raise GatewayError(type(exc).__name__, transient=True, code="connection") from exc


def verify_server_signature(token: str, timestamp: str, nonce: str, signature: str) -> bool:
    """Whether a push to our server comes from WeChat: ``signature`` is the hex SHA-1 of
    ``token``, ``timestamp`` and ``nonce`` sorted and joined (``token`` is the one set in
    the account's server configuration, not an access token)."""
    joined = "".join(sorted((token, timestamp, nonce)))
    expected = hashlib.sha1(joined.encode("utf-8")).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode())


def parse_job_finish(xml: bytes) -> Receipt:
    """The receipt of a ``TEMPLATESENDJOBFINISH`` push: delivered only for ``success``
    (``failed:user block``, ``failed: system failed`` are kept as the code).

    ``ValueError`` for anything else: XML that does not parse, a DTD or an entity
    declaration (refused before any expansion), another event, a missing MsgID.
    """
    fields = _flat_xml(xml)
    if fields.get("MsgType") != "event" or fields.get("Event") != JOB_FINISH_EVENT:
        raise ValueError(f"not a {JOB_FINISH_EVENT} event")
    msgid = fields.get("MsgID", "")
    status = fields.get("Status", "")
    if not msgid or not status:
        raise ValueError(f"{JOB_FINISH_EVENT} without MsgID or Status")
    at: datetime | None = None
    created = fields.get("CreateTime", "")
    if created:
        try:
            at = datetime.fromtimestamp(int(created), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise ValueError(f"bad CreateTime {created!r}") from exc
    return Receipt(
        provider_message_id=msgid, delivered=status == DELIVERED_STATUS, at=at, code=status
    )


def _refuse(*_: object) -> NoReturn:
    raise ValueError("XML with a DTD or entity declarations is refused")


def _flat_xml(xml: bytes) -> dict[str, str]:
    """The text of each child of the root of a WeChat push (they are flat).

    pyexpat straight away rather than ElementTree: defusedxml is not installed, and the C
    ElementTree parser gives no handle on expat's DTD handlers. WeChat never sends a DTD, so
    any is refused, which shuts out entity expansion (billion laughs) and external
    entities alike.
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    fields: dict[str, str] = {}
    depth = 0
    current: list[str] = []

    def start(name: str, _attributes: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth == 2:
            current.clear()

    def text(data: str) -> None:
        if depth == 2:
            current.append(data)

    def end(name: str) -> None:
        nonlocal depth
        if depth == 2:
            fields[name] = "".join(current).strip()
        depth -= 1

    parser.StartElementHandler = start
    parser.CharacterDataHandler = text
    parser.EndElementHandler = end
    try:
        parser.Parse(xml, True)
    except expat.ExpatError as exc:
        raise ValueError(f"bad XML: {exc}") from exc
    return fields
