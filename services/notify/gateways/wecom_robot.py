"""企业微信群机器人: posts a message to a WeCom group through the robot's webhook.

``POST {base}/cgi-bin/webhook/send?key=KEY`` with ``{"msgtype": "text", "text": {...}}`` (or
``markdown``); the answer is ``{"errcode": 0, "errmsg": "ok"}``. ``Message.address`` is the
robot's key or its whole webhook URL. The pure parts (payload, cutting, classification) are
functions; ``WeComRobotGateway`` only adds the HTTP call.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import requests

from services.notify.gateways.base import GatewayChannel, GatewayError, Message

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
WEBHOOK_PATH = "/cgi-bin/webhook/send"

TEXT_LIMIT_BYTES = 2048
"""``text.content``: at most 2048 bytes of UTF-8 (the API answers 40058 beyond)."""
MARKDOWN_LIMIT_BYTES = 4096
"""``markdown.content``: at most 4096 bytes of UTF-8."""
ELLIPSIS = "…"

MENTION_PARAM = "mentioned_mobile_list"
"""``Message.params`` key: comma-separated mobiles to @ in the group (text messages only)."""

TRANSIENT_CODES = frozenset({-1, 45009})
"""-1 system busy; 45009 API freq out of limit (a robot takes 20 messages a minute)."""
PERMANENT_CODES = frozenset({93000, 40008, 44004, 40058})
"""93000 invalid webhook url; 40008 invalid message type; 44004 empty content; 40058 an
argument out of range. Listed for the reader: any code not transient is permanent."""

MessageType = Literal["text", "markdown"]


@dataclass(frozen=True)
class WeComRobotConfig:
    base_url: str = DEFAULT_BASE_URL
    msgtype: MessageType = "text"
    mentioned_mobiles: tuple[str, ...] = ()
    """Mobiles @-ed in every text message, besides those of ``MENTION_PARAM``."""
    timeout: float = 5.0
    """Seconds, for connecting and for each read."""


def mask(secret: str) -> str:
    """Enough of a key or an openid to tell two apart in a log, not enough to use it."""
    return secret[:4] + "…" if len(secret) > 4 else "…"


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` bytes of UTF-8, else cut on a character boundary and
    ended with "…" so that the whole still fits."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    room = limit - len(ELLIPSIS.encode("utf-8"))
    # errors="ignore" drops the partial character a byte cut may leave at the end.
    return encoded[: max(room, 0)].decode("utf-8", errors="ignore") + ELLIPSIS


def webhook_url(address: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """The URL to post to, from a robot key or a whole webhook URL."""
    address = address.strip()
    if address.startswith(("https://", "http://")):
        if not robot_key(address):
            raise GatewayError("webhook URL without a key", transient=False, code="93000")
        return address
    if not address:
        raise GatewayError("no robot key", transient=False, code="93000")
    query = urllib.parse.urlencode({"key": address})
    return f"{base_url.rstrip('/')}{WEBHOOK_PATH}?{query}"


def robot_key(address: str) -> str:
    """The key of a key or a webhook URL ("" when a URL has none)."""
    address = address.strip()
    if not address.startswith(("https://", "http://")):
        return address
    keys = urllib.parse.parse_qs(urllib.parse.urlsplit(address).query).get("key", [""])
    return keys[0]


def build_payload(message: Message, config: WeComRobotConfig) -> dict[str, Any]:
    """The JSON body for ``message``, its content cut to the API's limit."""
    if not message.text:
        # The API would answer 44004; asking costs one of the robot's 20 messages a minute.
        raise GatewayError("empty content", transient=False, code="44004")
    if config.msgtype == "markdown":
        content = truncate_utf8(message.text, MARKDOWN_LIMIT_BYTES)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    text: dict[str, Any] = {"content": truncate_utf8(message.text, TEXT_LIMIT_BYTES)}
    extra = [m.strip() for m in message.params.get(MENTION_PARAM, "").split(",")]
    mobiles = list(dict.fromkeys([*config.mentioned_mobiles, *(m for m in extra if m)]))
    if mobiles:
        text["mentioned_mobile_list"] = mobiles
    return {"msgtype": "text", "text": text}


def classify(errcode: int) -> bool:
    """Whether a non-zero ``errcode`` is worth trying again later."""
    return errcode in TRANSIENT_CODES


def check_answer(status: int, body: bytes) -> None:
    """Raise the ``GatewayError`` an HTTP answer means; return when the robot took it."""
    if status >= 500 or status == 429:
        raise GatewayError(f"HTTP {status}", transient=True, code=f"http.{status}")
    if status >= 400:
        raise GatewayError(f"HTTP {status}", transient=False, code=f"http.{status}")
    answer = _json_object(body)
    if answer is None or not isinstance(answer.get("errcode"), int):
        # A proxy's page instead of the API's JSON: the robot may never have seen it.
        raise GatewayError("answer is not the API's JSON", transient=True, code="response.invalid")
    errcode: int = answer["errcode"]
    if errcode != 0:
        errmsg = str(answer.get("errmsg", ""))
        raise GatewayError(
            f"WeCom robot: {errcode} {errmsg}", transient=classify(errcode), code=str(errcode)
        )


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class WeComRobotGateway:
    """A WeCom group robot: ``send`` posts ``Message.text`` to the group of the key."""

    name = "wecom"
    channel: GatewayChannel = "wecom"

    def __init__(
        self, config: WeComRobotConfig | None = None, session: requests.Session | None = None
    ) -> None:
        self.config = config or WeComRobotConfig()
        self._session = session or requests.Session()

    def send(self, message: Message) -> str:
        url = webhook_url(message.address, self.config.base_url)
        payload = build_payload(message, self.config)
        shown = mask(robot_key(message.address))
        try:
            response = self._session.post(url, json=payload, timeout=self.config.timeout)
        except requests.Timeout as exc:
            # The robot may have posted it all the same: a retry can show it twice.
            log.warning("wecom robot %s: timed out", shown)
            raise GatewayError("timed out", transient=True, code="timeout") from exc
        except requests.RequestException as exc:
            # Not str(exc): requests puts the URL, key included, in its messages.
            log.warning("wecom robot %s: %s", shown, type(exc).__name__)
            raise GatewayError(type(exc).__name__, transient=True, code="connection") from exc
        try:
            check_answer(response.status_code, response.content)
        except GatewayError as exc:
            log.warning("wecom robot %s: %s (code %s)", shown, exc, exc.code)
            raise
        # The robot API answers no message id: ours, so the delivery record has one.
        message_id = uuid.uuid4().hex
        log.info("wecom robot %s: sent %s", shown, message_id)
        return message_id

    def close(self) -> None:
        self._session.close()
