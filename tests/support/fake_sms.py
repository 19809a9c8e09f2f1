"""Local stand-ins for Aliyun SMS and Tencent Cloud SMS that check requests as the providers do.

Each fake is a stdlib ``ThreadingHTTPServer`` on 127.0.0.1 in a (green, under the test
suite's eventlet) thread, used as a context manager::

    with FakeAliyunSms() as fake:
        gateway = AliyunSmsGateway(AliyunSmsConfig(..., base_url=fake.base_url))
        fake.enqueue(aliyun_throttled(), http_error(500))  # then the normal answer
        ...
        assert fake.received[-1].params["PhoneNumbers"] == "13800138000"

Verification is written here again, on purpose apart from the adapters' signing code, so a
mistake shared by both cannot pass: the Aliyun fake recomputes the V1 signature from the
received query with the known secret; the Tencent fake recomputes TC3-HMAC-SHA256 from the
received headers and body bytes. Both refuse missing fields, unknown keys, stale timestamps,
replayed Aliyun nonces, unknown signatures and templates, bad numbers, with the providers'
own error codes and envelopes. Requests that pass verification are recorded in ``received``;
only they consume the scripted outcomes queued with ``enqueue``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Scripted:
    """One scripted answer for the next verified request.

    ``body``: a JSON answer sent as it is; ``raw``: a non-JSON answer (a gateway's error
    page); ``send_status``: Tencent only, a per-number ``(Code, Message)`` in
    ``SendStatusSet``; none of them: the answer the fake would give anyway. ``delay``
    postpones whichever answer by that many seconds.
    """

    status: int = 200
    body: object = None
    raw: bytes | None = None
    send_status: tuple[str, str] | None = None
    delay: float = 0.0


PASS = Scripted()
"""Answer normally: useful to place an ordinary answer between scripted ones."""


def http_error(status: int = 500, text: str = "Internal Server Error") -> Scripted:
    """What a load balancer in front of the provider answers when it gives up."""
    page = f"<html><body><h1>{status} {text}</h1></body></html>".encode()
    return Scripted(status=status, raw=page)


def slow(seconds: float) -> Scripted:
    """The normal answer, ``seconds`` late."""
    return Scripted(delay=seconds)


def aliyun_error(code: str, message: str, status: int = 200) -> Scripted:
    """An Aliyun refusal; business codes (``isv.*``) come with HTTP 200, the rest with 4xx/5xx."""
    return Scripted(status=status, body=_aliyun_body(code, message))


def aliyun_throttled() -> Scripted:
    return aliyun_error("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1")


def tencent_error(code: str, message: str) -> Scripted:
    """A request-level Tencent refusal (``Response.Error``), always with HTTP 200."""
    return Scripted(body=_tencent_error_body(code, message))


def tencent_send_status(code: str, message: str) -> Scripted:
    """A per-number Tencent refusal in ``SendStatusSet``."""
    return Scripted(send_status=(code, message))


def tencent_throttled() -> Scripted:
    return tencent_send_status(
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "the number of SMS messages sent from a single mobile number within 30 seconds "
        "exceeds the upper limit",
    )


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str = "application/json;charset=utf-8"
    delay: float = 0.0


def _json_answer(status: int, body: object) -> _Answer:
    return _Answer(status, json.dumps(body, ensure_ascii=False).encode())


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


class _FakeServer:
    """The HTTP plumbing and the script queue; subclasses say what a provider answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[Scripted] = deque()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def enqueue(self, *outcomes: Scripted) -> None:
        """Answer the next verified requests with these, in order, then normally again."""
        with self._lock:
            self._script.extend(outcomes)

    def _next_scripted(self) -> Scripted:
        with self._lock:
            return self._script.popleft() if self._script else PASS

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        raise NotImplementedError

    def __enter__(self) -> Self:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}/"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def _handler_for(fake: _FakeServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # an idle keep-alive connection must not hold its thread past the test
        timeout = 10

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = fake.answer(method, self.path, headers, body)
            if answer.delay:
                time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):
                # the client gave up waiting (the timeout tests): nobody to answer
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# --- Aliyun ---------------------------------------------------------------------------------


def _aliyun_body(code: str, message: str) -> dict[str, str]:
    return {
        "RequestId": _request_id(),
        "HostId": "dysmsapi.aliyuncs.com",
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
    }


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _aliyun_encode(text: str) -> str:
    return "".join(
        chr(byte) if chr(byte) in _UNRESERVED else f"%{byte:02X}" for byte in text.encode()
    )


def aliyun_expected_signature(params: Mapping[str, str], secret: str) -> tuple[str, str]:
    """The server's string to sign and signature for these received parameters."""
    pairs = sorted((name, value) for name, value in params.items() if name != "Signature")
    query = "&".join(f"{_aliyun_encode(name)}={_aliyun_encode(value)}" for name, value in pairs)
    to_sign = f"GET&{_aliyun_encode('/')}&{_aliyun_encode(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return to_sign, base64.b64encode(digest).decode()


@dataclass(frozen=True)
class AliyunRequest:
    """A verified SendSms call and the fake's answer to it."""

    params: dict[str, str]
    raw_query: str
    status: int
    answer: dict[str, Any] | None


_ALIYUN_COMMON = (
    "AccessKeyId",
    "Action",
    "Signature",
    "SignatureMethod",
    "SignatureNonce",
    "SignatureVersion",
    "Timestamp",
    "Version",
)
_MAINLAND = re.compile(r"^(?:\+86|0086|86)?1\d{10}$")


class FakeAliyunSms(_FakeServer):
    """Aliyun's dysmsapi SendSms (2017-05-25, GET with the V1 signature).

    ``templates`` maps each approved TemplateCode to its variable names; ``sign_names`` are
    the approved signatures. Timestamps more than ``tolerance`` away from now are expired
    (Aliyun allows 15 minutes).
    """

    def __init__(
        self,
        *,
        access_key_id: str = "LTAI5tTestKeyId",
        access_key_secret: str = "test-access-key-secret",
        sign_names: frozenset[str] = frozenset({"县综治中心"}),
        templates: Mapping[str, tuple[str, ...]] | None = None,
        tolerance: timedelta = timedelta(minutes=15),
    ) -> None:
        super().__init__()
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_names = sign_names
        self.templates: dict[str, tuple[str, ...]] = dict(
            templates if templates is not None else {"SMS_465790123": ("case_no", "deadline")}
        )
        self.tolerance = tolerance
        self.received: list[AliyunRequest] = []
        self._nonces: set[str] = set()

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        if method != "GET":
            return _json_answer(
                400, _aliyun_body("UnsupportedHTTPMethod", "This fake takes GET only.")
            )
        raw_query = urlsplit(target).query
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        refusal = self._verify(params)
        if refusal is not None:
            return refusal
        scripted = self._next_scripted()
        if scripted.raw is not None:
            answer = _Answer(scripted.status, scripted.raw, "text/html", scripted.delay)
        elif scripted.body is not None:
            answer = _json_answer(scripted.status, scripted.body)
            answer = _Answer(answer.status, answer.body, answer.content_type, scripted.delay)
        else:
            normal = self._send_sms(params)
            answer = _Answer(normal.status, normal.body, normal.content_type, scripted.delay)
        parsed = json.loads(answer.body) if answer.content_type.startswith("application") else None
        with self._lock:
            self.received.append(AliyunRequest(params, raw_query, answer.status, parsed))
        return answer

    def _verify(self, params: dict[str, str]) -> _Answer | None:
        for name in _ALIYUN_COMMON:
            if not params.get(name):
                return _json_answer(
                    400, _aliyun_body(f"Missing{name}", f"{name} is mandatory for this action.")
                )
        if params["Action"] != "SendSms":
            return _json_answer(
                404,
                _aliyun_body(
                    "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method.",
                ),
            )
        if params["Version"] != "2017-05-25":
            return _json_answer(
                400, _aliyun_body("InvalidVersion", "Specified parameter Version is not valid.")
            )
        if params["AccessKeyId"] != self.access_key_id:
            return _json_answer(
                404,
                _aliyun_body("InvalidAccessKeyId.NotFound", "Specified access key is not found."),
            )
        try:
            stamp = datetime.strptime(params["Timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return _json_answer(
                400,
                _aliyun_body(
                    "InvalidTimeStamp.Format",
                    "Specified time stamp or date value is not well formatted.",
                ),
            )
        if abs(datetime.now(UTC) - stamp) > self.tolerance:
            return _json_answer(
                400,
                _aliyun_body(
                    "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
                ),
            )
        to_sign, expected = aliyun_expected_signature(params, self.access_key_secret)
        if (
            params["SignatureMethod"] != "HMAC-SHA1"
            or params["SignatureVersion"] != "1.0"
            or not hmac.compare_digest(expected, params["Signature"])
        ):
            return _json_answer(
                400,
                _aliyun_body(
                    "SignatureDoesNotMatch",
                    "Specified signature is not matched with our calculation. "
                    f"server string to sign is:{to_sign}",
                ),
            )
        with self._lock:
            if params["SignatureNonce"] in self._nonces:
                return _json_answer(
                    400,
                    _aliyun_body(
                        "SignatureNonceUsed", "Specified signature nonce was used already."
                    ),
                )
            self._nonces.add(params["SignatureNonce"])
        return None

    def _send_sms(self, params: dict[str, str]) -> _Answer:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return _json_answer(
                    400, _aliyun_body(f"Missing{name}", f"{name} is mandatory for this action.")
                )
        if not all(_MAINLAND.match(number) for number in params["PhoneNumbers"].split(",")):
            return _json_answer(200, _aliyun_body("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号"))
        if params["SignName"] not in self.sign_names:
            return _json_answer(
                200, _aliyun_body("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
            )
        variables = self.templates.get(params["TemplateCode"])
        if variables is None:
            return _json_answer(
                200, _aliyun_body("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
            )
        if variables:
            try:
                values = json.loads(params.get("TemplateParam") or "{}")
            except ValueError:
                values = None
            if not isinstance(values, dict) or not all(
                isinstance(value, str) for value in values.values()
            ):
                return _json_answer(
                    200, _aliyun_body("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
                )
            if any(name not in values for name in variables):
                return _json_answer(
                    200,
                    _aliyun_body("isv.TEMPLATE_MISSING_PARAMETERS", "模板变量缺少对应参数值"),
                )
        biz_id = f"{secrets.randbelow(10**18):018d}^0"
        return _json_answer(
            200, {"Message": "OK", "RequestId": _request_id(), "BizId": biz_id, "Code": "OK"}
        )


# --- Tencent --------------------------------------------------------------------------------


def _tencent_error_body(code: str, message: str) -> dict[str, object]:
    return {
        "Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}
    }


def tencent_expected_signature(
    *,
    secret_key: str,
    date: str,
    service: str,
    timestamp: str,
    signed_headers: list[str],
    headers: Mapping[str, str],
    body: bytes,
    method: str = "POST",
    query: str = "",
) -> str:
    """What Tencent computes for a received request: the canonical headers are rebuilt from
    the headers as received, lowercased and trimmed, in the order SignedHeaders lists them."""
    canonical_headers = "".join(
        f"{name}:{headers.get(name, '').strip().lower()}\n" for name in signed_headers
    )
    canonical = "\n".join(
        [
            method,
            "/",
            query,
            canonical_headers,
            ";".join(signed_headers),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            timestamp,
            f"{date}/{service}/tc3_request",
            hashlib.sha256(canonical.encode()).hexdigest(),
        ]
    )
    key = f"TC3{secret_key}".encode()
    for part in (date, service, "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class TencentRequest:
    """A verified SendSms call and the fake's answer to it."""

    headers: dict[str, str]
    payload: dict[str, Any]
    raw_body: bytes
    status: int
    answer: dict[str, Any] | None


_AUTHORIZATION = re.compile(
    r"^TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[^/]+)"
    r"/tc3_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
_REGIONS = frozenset({"ap-guangzhou", "ap-beijing", "ap-nanjing", "ap-singapore"})


class FakeTencentSms(_FakeServer):
    """Tencent Cloud's SendSms (API 3.0, 2021-01-11, POST JSON with TC3-HMAC-SHA256).

    ``templates`` maps each approved TemplateId to its number of ``{n}`` variables.
    Timestamps more than ``tolerance`` away from now are expired (Tencent allows 5 minutes).
    """

    def __init__(
        self,
        *,
        secret_id: str = "AKIDtestSecretId0123456789",
        secret_key: str = "test-secret-key",
        sdk_app_id: str = "1400006666",
        sign_names: frozenset[str] = frozenset({"县综治中心"}),
        templates: Mapping[str, int] | None = None,
        tolerance: timedelta = timedelta(minutes=5),
    ) -> None:
        super().__init__()
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_names = sign_names
        self.templates = dict(templates if templates is not None else {"2261350": 2})
        self.tolerance = tolerance
        self.received: list[TencentRequest] = []

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> _Answer:
        if method != "POST":
            return _json_answer(
                200, _tencent_error_body("UnsupportedOperation", "This fake takes POST only.")
            )
        refusal = self._verify(headers, body)
        if refusal is not None:
            return refusal
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return _json_answer(
                200,
                _tencent_error_body(
                    "FailedOperation.FailResolvePacket",
                    "request package parsing failed, usually because the API specification "
                    "was not followed",
                ),
            )
        scripted = self._next_scripted()
        if scripted.raw is not None:
            answer = _Answer(scripted.status, scripted.raw, "text/html", scripted.delay)
        elif scripted.body is not None:
            answer = _json_answer(scripted.status, scripted.body)
            answer = _Answer(answer.status, answer.body, answer.content_type, scripted.delay)
        else:
            normal = self._send_sms(payload, scripted.send_status)
            answer = _Answer(normal.status, normal.body, normal.content_type, scripted.delay)
        parsed = json.loads(answer.body) if answer.content_type.startswith("application") else None
        with self._lock:
            self.received.append(
                TencentRequest(dict(headers), payload, body, answer.status, parsed)
            )
        return answer

    def _verify(self, headers: Mapping[str, str], body: bytes) -> _Answer | None:
        for header, parameter in (
            ("x-tc-action", "Action"),
            ("x-tc-version", "Version"),
            ("x-tc-region", "Region"),
            ("x-tc-timestamp", "Timestamp"),
        ):
            if not headers.get(header):
                return _json_answer(
                    200,
                    _tencent_error_body(
                        "MissingParameter",
                        f"The request is missing a required parameter `{parameter}`.",
                    ),
                )
        if headers["x-tc-action"] != "SendSms":
            return _json_answer(
                200,
                _tencent_error_body(
                    "InvalidAction", f"The action `{headers['x-tc-action']}` is not supported."
                ),
            )
        if headers["x-tc-version"] != "2021-01-11":
            return _json_answer(
                200,
                _tencent_error_body(
                    "NoSuchVersion", f"The version `{headers['x-tc-version']}` does not exist."
                ),
            )
        if headers["x-tc-region"] not in _REGIONS:
            return _json_answer(
                200,
                _tencent_error_body(
                    "UnsupportedRegion", f"The region `{headers['x-tc-region']}` is not supported."
                ),
            )
        matched = _AUTHORIZATION.match(headers.get("authorization", ""))
        if matched is None:
            return _json_answer(
                200,
                _tencent_error_body(
                    "AuthFailure.InvalidAuthorization",
                    "Authorization in the request header is invalid.",
                ),
            )
        if matched["id"] != self.secret_id:
            return _json_answer(
                200,
                _tencent_error_body(
                    "AuthFailure.SecretIdNotFound",
                    "The SecretId is not found, please ensure that your SecretId is correct.",
                ),
            )
        timestamp = headers["x-tc-timestamp"]
        if not timestamp.isdigit():
            return _json_answer(
                200,
                _tencent_error_body(
                    "InvalidParameter", "The parameter `Timestamp` is not a unix timestamp."
                ),
            )
        if abs(time.time() - int(timestamp)) > self.tolerance.total_seconds():
            return _json_answer(
                200,
                _tencent_error_body(
                    "AuthFailure.SignatureExpire",
                    "Signature expired. Timestamp and server time cannot differ by more than "
                    "five minutes.",
                ),
            )
        signed = matched["signed"].split(";")
        scope_date = datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d")
        expected = tencent_expected_signature(
            secret_key=self.secret_key,
            date=matched["date"],
            service=matched["service"],
            timestamp=timestamp,
            signed_headers=signed,
            headers=headers,
            body=body,
        )
        if (
            matched["date"] != scope_date
            or matched["service"] != "sms"
            or not {"content-type", "host"} <= set(signed)
            or signed != sorted(signed)
            or not hmac.compare_digest(expected, matched["signature"])
        ):
            return _json_answer(
                200,
                _tencent_error_body(
                    "AuthFailure.SignatureFailure",
                    "The provided credentials could not be validated. "
                    "Please check your signature is correct.",
                ),
            )
        return None

    def _send_sms(self, payload: dict[str, Any], forced: tuple[str, str] | None) -> _Answer:
        for name in ("PhoneNumberSet", "SmsSdkAppId", "TemplateId"):
            if not payload.get(name):
                return _json_answer(
                    200,
                    _tencent_error_body(
                        "MissingParameter", f"The request is missing a required parameter `{name}`."
                    ),
                )
        numbers = payload["PhoneNumberSet"]
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            return _json_answer(
                200,
                _tencent_error_body(
                    "InvalidParameter", "The parameter `PhoneNumberSet` is not an array of strings."
                ),
            )
        if payload["SmsSdkAppId"] != self.sdk_app_id:
            return _json_answer(
                200,
                _tencent_error_body(
                    "InvalidParameterValue.SdkAppIdNotExist", "the SdkAppId does not exist"
                ),
            )
        context = str(payload.get("SessionContext") or "")
        statuses = [self._number_status(payload, number, context, forced) for number in numbers]
        return _json_answer(
            200, {"Response": {"SendStatusSet": statuses, "RequestId": str(uuid.uuid4())}}
        )

    def _number_status(
        self,
        payload: dict[str, Any],
        number: str,
        context: str,
        forced: tuple[str, str] | None,
    ) -> dict[str, object]:
        def refused(code: str, message: str) -> dict[str, object]:
            return {
                "SerialNo": "",
                "PhoneNumber": number,
                "Fee": 0,
                "SessionContext": context,
                "Code": code,
                "Message": message,
                "IsoCode": "CN" if _MAINLAND.match(number) else "",
            }

        if forced is not None:
            return refused(*forced)
        if not _MAINLAND.match(number):
            return refused("InvalidParameterValue.IncorrectPhoneNumber", "incorrect number format")
        if payload.get("SignName") not in self.sign_names:
            return refused(
                "FailedOperation.SignatureIncorrectOrUnapproved",
                "signature format is incorrect or signature is not approved",
            )
        parameters = self.templates.get(str(payload["TemplateId"]))
        if parameters is None:
            return refused(
                "FailedOperation.TemplateIncorrectOrUnapproved",
                "template is not approved or request content does not match the approved "
                "template content",
            )
        values = payload.get("TemplateParamSet") or []
        if not isinstance(values, list) or len(values) != parameters:
            return refused(
                "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                "request content does not match the approved template content",
            )
        serial = f"2640:{secrets.randbelow(10**27):027d}"
        return {
            "SerialNo": serial,
            "PhoneNumber": number,
            "Fee": 1,
            "SessionContext": context,
            "Code": "Ok",
            "Message": "send success",
            "IsoCode": "CN",
        }
