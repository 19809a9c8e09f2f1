"""Tencent Cloud (腾讯云) SMS: ``SendSms`` of API 3.0 (service ``sms``, version 2021-01-11)
signed with TC3-HMAC-SHA256, and the two callbacks: the delivery status report
(短信下发状态通知) and the reply (短信回复).

Followed from Tencent's own pages: "签名方法 v3 / Signature v3" (its CVM DescribeInstances
example is pinned in the tests), the SendSms 2021-01-11 reference, the SMS error codes, and
the two callback pages.

Signing is pure (``tc3_canonical_request``, ``tc3_string_to_sign``, ``tc3_signature``,
``tc3_authorization``); ``TencentSmsGateway`` does the I/O with one ``requests.Session``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlsplit
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

DEFAULT_BASE_URL: Final = "https://sms.tencentcloudapi.com/"
SERVICE: Final = "sms"
API_VERSION: Final = "2021-01-11"
ACTION: Final = "SendSms"
DEFAULT_REGION: Final = "ap-guangzhou"
ALGORITHM: Final = "TC3-HMAC-SHA256"
CONTENT_TYPE: Final = "application/json; charset=utf-8"
SIGNED_HEADERS: Final = "content-type;host"

CALLBACK_ANSWER: Final = '{"result":0,"errmsg":"OK"}'
"""What our status-report and reply endpoints answer, with HTTP 200 and ``application/json``."""

BEIJING: Final = ZoneInfo("Asia/Shanghai")
"""``user_receive_time`` carries no zone; it is Beijing time."""

CALLBACK_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"

_TRANSIENT_FAMILIES: Final = ("LimitExceeded", "RequestLimitExceeded", "InternalError")
_PERMANENT_IN_TRANSIENT_FAMILIES: Final = frozenset(
    {
        # these describe our request, not Tencent's state: the same request fails again
        "LimitExceeded.PhoneNumberCountLimit",
        "InternalError.RequestTimeException",
        "InternalError.RestApiInterfaceNotExist",
        "InternalError.SigFieldMissing",
        "InternalError.SigVerificationFail",
    }
)


def is_transient(code: str) -> bool:
    """Whether trying again later may help with this Tencent error code.

    Frequency limits (``LimitExceeded.*``, ``RequestLimitExceeded*``) and Tencent's own
    failures (``InternalError.*``) pass; authentication (``AuthFailure.*``), permissions
    (``UnauthorizedOperation.*``), bad numbers, unapproved templates or signatures do not.
    """
    if code in _PERMANENT_IN_TRANSIENT_FAMILIES:
        return False
    return any(code == family or code.startswith(f"{family}.") for family in _TRANSIENT_FAMILIES)


@dataclass(frozen=True)
class TencentSmsConfig:
    """One Tencent Cloud SMS application as the adapter uses it.

    ``templates`` maps our template names to Tencent's ``TemplateId`` and the names of our
    variables in the order of the template's ``{1}``, ``{2}`` …, since Tencent takes the
    values as a list.
    """

    secret_id: str
    secret_key: str = field(repr=False)
    sdk_app_id: str
    sign_name: str
    templates: Mapping[str, tuple[str, tuple[str, ...]]]
    base_url: str = DEFAULT_BASE_URL
    region: str = DEFAULT_REGION
    connect_timeout: float = 5.0
    read_timeout: float = 5.0


# --- signing (pure) -------------------------------------------------------------------------


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac_sha256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_date(timestamp: int) -> str:
    """The credential-scope date: the UTC date of the timestamp, never the local one."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def tc3_canonical_request(
    *,
    host: str,
    payload: bytes,
    content_type: str = CONTENT_TYPE,
    method: str = "POST",
    canonical_uri: str = "/",
    canonical_query: str = "",
) -> str:
    """The CanonicalRequest over the two headers Tencent requires, ``content-type`` and
    ``host`` (names and values lowercased and trimmed), and the SHA-256 of the payload."""
    canonical_headers = (
        f"content-type:{content_type.strip().lower()}\nhost:{host.strip().lower()}\n"
    )
    return "\n".join(
        [
            method,
            canonical_uri,
            canonical_query,
            canonical_headers,
            SIGNED_HEADERS,
            _sha256_hex(payload),
        ]
    )


def tc3_string_to_sign(*, timestamp: int, service: str, canonical_request: str) -> str:
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    return f"{ALGORITHM}\n{timestamp}\n{scope}\n{_sha256_hex(canonical_request.encode())}"


def tc3_signature(*, secret_key: str, timestamp: int, service: str, string_to_sign: str) -> str:
    """Hex HMAC-SHA256 of the string to sign under the key derived ``TC3``+SecretKey → date →
    service → ``tc3_request``."""
    secret_date = _hmac_sha256(f"TC3{secret_key}".encode(), tc3_date(timestamp))
    secret_service = _hmac_sha256(secret_date, service)
    secret_signing = _hmac_sha256(secret_service, "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode(), hashlib.sha256).hexdigest()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    timestamp: int,
    payload: bytes,
    content_type: str = CONTENT_TYPE,
) -> str:
    """The ``Authorization`` header of a POST to ``host`` with this JSON ``payload``."""
    canonical = tc3_canonical_request(host=host, payload=payload, content_type=content_type)
    to_sign = tc3_string_to_sign(timestamp=timestamp, service=service, canonical_request=canonical)
    signature = tc3_signature(
        secret_key=secret_key, timestamp=timestamp, service=service, string_to_sign=to_sign
    )
    scope = f"{tc3_date(timestamp)}/{service}/tc3_request"
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
    )


# --- the adapter ----------------------------------------------------------------------------


def e164(address: str) -> str:
    """``+86`` and the 11-digit mainland number, from a bare number or one with ``0086``/``86``."""
    number = re.sub(r"[\s-]", "", address)
    if number.startswith("+"):
        return number
    if number.startswith("0086"):
        return f"+{number[2:]}"
    if len(number) == 13 and number.startswith("86"):
        return f"+{number}"
    return f"+86{number}"


def _national(number: str) -> str:
    return number[3:] if number.startswith("+86") else number


class TencentSmsGateway:
    """Sends one templated SMS per ``send`` through Tencent Cloud's SendSms.

    ``send`` returns the number's ``SerialNo`` (what status reports carry as ``sid``); our
    reference travels as ``SessionContext``. Nothing is retried here.
    """

    name: str = "tencent"
    channel: GatewayChannel = "sms"

    def __init__(
        self,
        config: TencentSmsConfig,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self._session = session if session is not None else requests.Session()
        self._clock = clock if clock is not None else (lambda: datetime.now(UTC))
        # the Host header is signed, so it must be exactly what goes on the wire
        self._host = urlsplit(config.base_url).netloc.lower()

    def close(self) -> None:
        self._session.close()

    def payload(self, message: Message) -> dict[str, object]:
        """The SendSms request body for ``message``."""
        template = self.config.templates.get(message.template)
        if template is None:
            raise GatewayError(
                f"tencent: template {message.template!r} has no TemplateId configured",
                transient=False,
                code="template.unmapped",
            )
        template_id, names = template
        missing = [name for name in names if name not in message.params]
        if missing:
            raise GatewayError(
                f"tencent: template {message.template!r} lacks values for {', '.join(missing)}",
                transient=False,
                code="template.params_missing",
            )
        payload: dict[str, object] = {
            "PhoneNumberSet": [e164(message.address)],
            "SmsSdkAppId": self.config.sdk_app_id,
            "SignName": self.config.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": [message.params[name] for name in names],
        }
        if message.reference:
            payload["SessionContext"] = message.reference
        return payload

    def send(self, message: Message) -> str:
        payload = self.payload(message)
        number = e164(message.address)
        masked = mask_phone(_national(number))
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self._clock().timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.config.secret_id,
                secret_key=self.config.secret_key,
                service=SERVICE,
                host=self._host,
                timestamp=timestamp,
                payload=body,
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": ACTION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": API_VERSION,
            "X-TC-Region": self.config.region,
        }
        try:
            response = self._session.post(
                self.config.base_url,
                data=body,
                headers=headers,
                timeout=(self.config.connect_timeout, self.config.read_timeout),
            )
        except requests.Timeout as exc:
            log.warning("tencent SendSms to %s timed out", masked)
            raise GatewayError(
                "tencent: SendSms timed out", transient=True, code="timeout"
            ) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            log.warning("tencent SendSms to %s: connection failed", masked)
            raise GatewayError(
                f"tencent: connection failed: {type(exc).__name__}",
                transient=True,
                code="connection",
            ) from exc
        except requests.RequestException as exc:
            raise GatewayError(
                f"tencent: request not sent: {type(exc).__name__}", transient=False, code="request"
            ) from exc
        try:
            serial_no = self._answer(response.status_code, response.content)
        except GatewayError as exc:
            log.warning("tencent SendSms to %s refused: %s", masked, exc)
            raise
        log.info("tencent SendSms to %s accepted as SerialNo %s", masked, serial_no)
        return serial_no

    @staticmethod
    def _answer(status: int, content: bytes) -> str:
        data = json_object(content)
        envelope = data.get("Response") if data is not None else None
        if not isinstance(envelope, dict):
            raise GatewayError(
                f"tencent: HTTP {status} without a Response",
                transient=status >= 500 or status == 429,
                code=f"http.{status}",
            )
        request_id = envelope.get("RequestId")
        error = envelope.get("Error")
        if isinstance(error, dict):
            code = str(error.get("Code") or f"http.{status}")
            raise GatewayError(
                f"tencent: {code}: {scrub(error.get('Message'))} (RequestId {request_id})",
                transient=is_transient(code) or status >= 500,
                code=code,
            )
        if status >= 500:
            raise GatewayError(f"tencent: HTTP {status}", transient=True, code=f"http.{status}")
        statuses = envelope.get("SendStatusSet")
        first = statuses[0] if isinstance(statuses, list) and statuses else None
        if not isinstance(first, dict):
            # no verdict on the number: it may have been sent, so do not send it again
            raise GatewayError(
                f"tencent: no SendStatusSet in the answer (RequestId {request_id})",
                transient=False,
                code="response.malformed",
            )
        code = str(first.get("Code") or "")
        if code == "Ok":
            serial_no = first.get("SerialNo")
            if isinstance(serial_no, str) and serial_no:
                return serial_no
            raise GatewayError(
                "tencent: SendSms said Ok without a SerialNo", transient=False, code="Ok"
            )
        raise GatewayError(
            f"tencent: {code}: {scrub(first.get('Message'))} (RequestId {request_id})",
            transient=is_transient(code),
            code=code,
        )


# --- callbacks (pure) -----------------------------------------------------------------------


def _json_items(body: bytes, what: str, *, single_allowed: bool) -> list[dict[str, object]]:
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
    if single_allowed and isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        expected = "a JSON object or array" if single_allowed else "a JSON array"
        raise ValueError(f"{what}: expected {expected}, got {type(data).__name__}")
    items: list[dict[str, object]] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError(f"{what}: item {index} is not an object")
        items.append({str(key): value for key, value in item.items()})
    return items


def _phone(item: Mapping[str, object], where: str) -> str:
    """Mainland numbers as the 11 digits we send to; others in E.164."""
    mobile = text_field(item, "mobile", where)
    nationcode = text_field(item, "nationcode", where, required=False) or "86"
    return mobile if nationcode == "86" else f"+{nationcode}{mobile}"


def parse_reports(body: bytes) -> list[Receipt]:
    """Tencent's status report (a JSON array) as receipts; ``ValueError`` on a bad body.

    ``provider_message_id`` is ``sid`` (the ``SerialNo`` SendSms returned); ``code`` is
    ``errmsg`` (``DELIVRD`` …); the report carries no ``SessionContext``, so no reference.
    """
    receipts: list[Receipt] = []
    for index, item in enumerate(_json_items(body, "tencent status report", single_allowed=False)):
        where = f"tencent status report item {index}"
        status = text_field(item, "report_status", where)
        if status not in ("SUCCESS", "FAIL"):
            raise ValueError(f"{where}: report_status {status!r} is neither SUCCESS nor FAIL")
        received = text_field(item, "user_receive_time", where, required=False)
        try:
            at = (
                datetime.strptime(received, CALLBACK_TIME_FORMAT).replace(tzinfo=BEIJING)
                if received
                else None
            )
        except ValueError as exc:
            raise ValueError(
                f"{where}: user_receive_time {received!r} is not YYYY-MM-DD hh:mm:ss"
            ) from exc
        receipts.append(
            Receipt(
                provider_message_id=text_field(item, "sid", where),
                delivered=status == "SUCCESS",
                at=at,
                code=text_field(item, "errmsg", where, required=False),
                phone=_phone(item, where),
                reference=None,
            )
        )
    return receipts


def parse_replies(body: bytes) -> list[InboundSms]:
    """Tencent's reply callback as citizens' replies; ``ValueError`` on a bad body.

    Tencent documents one JSON object per call; an array of them is read as well.
    """
    replies: list[InboundSms] = []
    for index, item in enumerate(_json_items(body, "tencent reply", single_allowed=True)):
        where = f"tencent reply item {index}"
        if "text" not in item:
            raise ValueError(f"{where}: missing 'text'")
        moment = item.get("time")
        if isinstance(moment, bool) or not isinstance(moment, int | str):
            raise ValueError(f"{where}: 'time' must be unix seconds")
        try:
            at = datetime.fromtimestamp(int(moment), BEIJING)
        except (ValueError, OverflowError, OSError) as exc:
            raise ValueError(f"{where}: 'time' {moment!r} is not unix seconds") from exc
        sign = text_field(item, "sign", where, required=False)
        extend = text_field(item, "extend", where, required=False)
        replies.append(
            InboundSms(
                phone=_phone(item, where),
                text=text_field(item, "text", where, required=False),
                at=at,
                sign_name=sign or None,
                extend=extend or None,
            )
        )
    return replies
