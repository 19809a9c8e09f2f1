"""Aliyun (阿里云) SMS: ``SendSms`` of dysmsapi 2017-05-25, RPC style with the V1 signature
(HMAC-SHA1 over the canonicalised query), and the two HTTP batch-push callbacks: ``SmsReport``
(delivery receipts) and ``SmsUp`` (citizens' replies).

Followed from Aliyun's own pages: "签名机制 / Signature method" of Short Message Service (its
worked example with ``testId``/``testSecret`` is pinned in the tests), the SendSms reference,
the API error codes, and the SmsReport and SmsUp HTTP batch-push pages.

Signing is pure (``percent_encode``, ``canonical_query``, ``string_to_sign``,
``aliyun_signature``); ``AliyunSmsGateway`` does the I/O with one ``requests.Session``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from contracts.common import mask_phone
from services.notify.gateways.base import (
    GatewayChannel,
    GatewayError,
    InboundSms,
    Message,
    Receipt,
)
from services.notify.gateways.wire import json_object, scrub, text_field

log = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://dysmsapi.aliyuncs.com/"
API_VERSION: Final = "2017-05-25"
DEFAULT_REGION: Final = "cn-hangzhou"
ACTION: Final = "SendSms"
SIGNATURE_METHOD: Final = "HMAC-SHA1"
SIGNATURE_VERSION: Final = "1.0"
TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"

CALLBACK_ANSWER: Final = '{"code":0,"msg":"接收成功"}'
"""What our SmsReport/SmsUp endpoints answer, with HTTP 200 and ``application/json``.

Aliyun only checks that ``code`` is a number (the text is free); anything but HTTP 200 makes
it push again after 1, 5 and 10 minutes, so answer 5xx when the batch could not be stored.
"""

BEIJING: Final = ZoneInfo("Asia/Shanghai")
"""Callback times carry no zone; they are Beijing time."""

CALLBACK_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

TRANSIENT_CODES: Final = frozenset(
    {
        "isv.BUSINESS_LIMIT_CONTROL",
        "Throttling",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
        "isp.SYSTEM_ERROR",
        # uuid4 nonces collide only by accident; the next attempt draws a new one
        "SignatureNonceUsed",
    }
)
"""Aliyun codes worth another attempt later; every other code stops the delivery."""


def is_transient(code: str) -> bool:
    """Whether trying again later may help with this Aliyun ``Code``."""
    return code in TRANSIENT_CODES or code.startswith("Throttling.")


@dataclass(frozen=True)
class AliyunSmsConfig:
    """One Aliyun SMS account as the adapter uses it.

    ``templates`` maps our template names to Aliyun's ``TemplateCode`` (``SMS_…``); the
    variables are sent by name, so their order does not matter here.
    """

    access_key_id: str
    access_key_secret: str = field(repr=False)
    sign_name: str
    templates: Mapping[str, str]
    base_url: str = DEFAULT_BASE_URL
    region_id: str = DEFAULT_REGION
    connect_timeout: float = 5.0
    read_timeout: float = 5.0


# --- signing (pure) -------------------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of UTF-8 as Aliyun wants it: ``%20`` for a space, ``%2A`` for ``*``,
    and ``A-Z a-z 0-9 - _ . ~`` left alone."""
    return quote(value, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    """The canonicalised query string: every parameter but ``Signature``, sorted by name,
    names and values percent-encoded."""
    return "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}"
        for name in sorted(params)
        if name != "Signature"
    )


def string_to_sign(params: Mapping[str, str], method: str = "GET") -> str:
    """``GET&%2F&`` followed by the canonicalised query, percent-encoded once more."""
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "GET") -> str:
    """Base64 of HMAC-SHA1 over the string to sign, keyed with the AccessKey secret and ``&``."""
    digest = hmac.new(
        f"{secret}&".encode(),
        string_to_sign(params, method).encode(),
        hashlib.sha1,
    ).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_query(params: Mapping[str, str], secret: str) -> str:
    """The query string to send: the signature first, then the canonicalised parameters."""
    signature = aliyun_signature(params, secret)
    return f"Signature={percent_encode(signature)}&{canonical_query(params)}"


# --- the adapter ----------------------------------------------------------------------------


def national_number(address: str) -> str:
    """An 11-digit mainland number from what may carry ``+86``, ``0086`` or ``86``."""
    number = re.sub(r"[\s-]", "", address)
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            return number[len(prefix) :]
    if len(number) == 13 and number.startswith("86"):
        return number[2:]
    return number


def _scrub(text: object) -> str:
    """A provider message fit for logs and delivery records."""
    if not isinstance(text, str):
        return ""
    # SignatureDoesNotMatch echoes the server's string to sign: our AccessKeyId, the number
    # and the template variables, none of which belongs in a log
    return scrub(text.split("server string to sign is:")[0].strip())


class AliyunSmsGateway:
    """Sends one templated SMS per ``send`` through Aliyun's SendSms.

    ``send`` returns Aliyun's ``BizId`` (the id SmsReport receipts carry as ``biz_id``); our
    reference travels as ``OutId`` and comes back as ``out_id``. Nothing is retried here.
    SendSms is not idempotent: after a read timeout the message may have gone out all the
    same, which is why Aliyun suggests waiting for the receipt before sending again.
    """

    name: str = "aliyun"
    channel: GatewayChannel = "sms"

    def __init__(
        self,
        config: AliyunSmsConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] | None = None,
        nonce: Callable[[], str] | None = None,
    ) -> None:
        self.config = config
        self._session = session if session is not None else requests.Session()
        self._clock = clock if clock is not None else (lambda: datetime.now(UTC))
        self._nonce = nonce if nonce is not None else (lambda: uuid.uuid4().hex)

    def close(self) -> None:
        self._session.close()

    def request_params(self, message: Message) -> dict[str, str]:
        """Every parameter of the SendSms call for ``message``, ``Signature`` excepted."""
        template_code = self.config.templates.get(message.template)
        if template_code is None:
            raise GatewayError(
                f"aliyun: template {message.template!r} has no TemplateCode configured",
                transient=False,
                code="template.unmapped",
            )
        params = {
            "AccessKeyId": self.config.access_key_id,
            "Action": ACTION,
            "Format": "JSON",
            "PhoneNumbers": national_number(message.address),
            "RegionId": self.config.region_id,
            "SignName": self.config.sign_name,
            "SignatureMethod": SIGNATURE_METHOD,
            "SignatureNonce": self._nonce(),
            "SignatureVersion": SIGNATURE_VERSION,
            "TemplateCode": template_code,
            "Timestamp": self._clock().astimezone(UTC).strftime(TIMESTAMP_FORMAT),
            "Version": API_VERSION,
        }
        if message.params:
            params["TemplateParam"] = json.dumps(
                message.params, ensure_ascii=False, separators=(",", ":")
            )
        if message.reference:
            params["OutId"] = message.reference
        return params

    def send(self, message: Message) -> str:
        params = self.request_params(message)
        masked = mask_phone(params["PhoneNumbers"])
        url = f"{self.config.base_url}?{signed_query(params, self.config.access_key_secret)}"
        try:
            response = self._session.get(
                url, timeout=(self.config.connect_timeout, self.config.read_timeout)
            )
        except requests.Timeout as exc:
            log.warning("aliyun SendSms to %s timed out", masked)
            raise GatewayError("aliyun: SendSms timed out", transient=True, code="timeout") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            log.warning("aliyun SendSms to %s: connection failed", masked)
            raise GatewayError(
                f"aliyun: connection failed: {type(exc).__name__}",
                transient=True,
                code="connection",
            ) from exc
        except requests.RequestException as exc:
            # a malformed base URL and the like: configuration, not the weather
            raise GatewayError(
                f"aliyun: request not sent: {type(exc).__name__}", transient=False, code="request"
            ) from exc
        try:
            biz_id = self._answer(response.status_code, response.content)
        except GatewayError as exc:
            log.warning("aliyun SendSms to %s refused: %s", masked, exc)
            raise
        log.info("aliyun SendSms to %s accepted as BizId %s", masked, biz_id)
        return biz_id

    @staticmethod
    def _answer(status: int, content: bytes) -> str:
        data = json_object(content)
        code = data.get("Code") if data is not None else None
        if data is None or not isinstance(code, str) or not code:
            raise GatewayError(
                f"aliyun: HTTP {status} without an Aliyun error code",
                transient=status >= 500 or status == 429,
                code=f"http.{status}",
            )
        if code == "OK" and status == 200:
            biz_id = data.get("BizId")
            if isinstance(biz_id, str) and biz_id:
                return biz_id
            # accepted but unidentifiable: sending again would send twice
            raise GatewayError(
                "aliyun: SendSms said OK without a BizId", transient=False, code="OK"
            )
        detail = f"{_scrub(data.get('Message'))} (HTTP {status}, RequestId {data.get('RequestId')})"
        raise GatewayError(
            f"aliyun: {code}: {detail}",
            transient=is_transient(code) or status >= 500,
            code=code,
        )


# --- callbacks (pure) -----------------------------------------------------------------------


def _json_array(body: bytes, what: str) -> list[dict[str, object]]:
    try:
        # both providers push UTF-8 (a BOM tolerated); json.loads on bytes would also take
        # UTF-16 and UTF-32
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what}: body is not UTF-8") from exc
    try:
        data: object = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what}: body is not JSON ({exc})") from exc
    if not isinstance(data, list):
        raise ValueError(f"{what}: expected a JSON array, got {type(data).__name__}")
    items: list[dict[str, object]] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"{what}: item {index} is not an object")
        items.append({str(key): value for key, value in item.items()})
    return items


def _flag(item: Mapping[str, object], name: str, where: str) -> bool:
    value = item.get(name)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{where}: {name!r} must be true or false")


def beijing_time(value: str, where: str) -> datetime:
    """``YYYY-MM-DD hh:mm:ss`` in Beijing time as an aware datetime.

    Older SmsUp pages show ``YYYYMMDDhhmmss``; both are read.
    """
    for pattern in (CALLBACK_TIME_FORMAT, "%Y%m%d%H%M%S"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=BEIJING)
        except ValueError:
            continue
    raise ValueError(f"{where}: {value!r} is not a YYYY-MM-DD hh:mm:ss time")


def parse_reports(body: bytes) -> list[Receipt]:
    """Aliyun's SmsReport push (a JSON array) as receipts; ``ValueError`` on a bad body.

    ``provider_message_id`` is the ``biz_id`` SendSms returned; ``reference`` our ``OutId``;
    ``at`` the report time; ``code`` the status code (``DELIVERED``, ``MK:0001`` …).
    """
    receipts: list[Receipt] = []
    for index, item in enumerate(_json_array(body, "aliyun SmsReport")):
        where = f"aliyun SmsReport item {index}"
        out_id = text_field(item, "out_id", where, required=False)
        receipts.append(
            Receipt(
                provider_message_id=text_field(item, "biz_id", where),
                delivered=_flag(item, "success", where),
                at=beijing_time(text_field(item, "report_time", where), f"{where} report_time"),
                code=text_field(item, "err_code", where, required=False),
                phone=text_field(item, "phone_number", where),
                reference=out_id or None,
            )
        )
    return receipts


def parse_replies(body: bytes) -> list[InboundSms]:
    """Aliyun's SmsUp push (a JSON array) as citizens' replies; ``ValueError`` on a bad body.

    ``extend`` is the ``dest_code`` (the extension the reply was sent to); ``sign_name`` is
    absent from newer pushes.
    """
    replies: list[InboundSms] = []
    for index, item in enumerate(_json_array(body, "aliyun SmsUp")):
        where = f"aliyun SmsUp item {index}"
        if "content" not in item:
            raise ValueError(f"{where}: missing 'content'")
        sign_name = text_field(item, "sign_name", where, required=False)
        dest_code = text_field(item, "dest_code", where, required=False)
        replies.append(
            InboundSms(
                phone=text_field(item, "phone_number", where),
                text=text_field(item, "content", where, required=False),
                at=beijing_time(text_field(item, "send_time", where), f"{where} send_time"),
                sign_name=sign_name or None,
                extend=dest_code or None,
            )
        )
    return replies
