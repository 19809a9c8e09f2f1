"""What providers push back, read by provider: delivery reports, SMS replies, WeChat's signed
pushes; and how each wants to be answered."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from kit.web import BadRequest, NotFound, Unauthorized
from services.notify.gateways import aliyun_sms, tencent_sms, wechat_template
from services.notify.gateways.base import InboundSms, Receipt

_PARSERS: dict[str, Any] = {"aliyun": aliyun_sms, "tencent": tencent_sms}


def _module(provider: str) -> Any:
    if provider not in _PARSERS:
        raise NotFound(f"no provider {provider!r}: aliyun or tencent")
    return _PARSERS[provider]


def reports_of(provider: str, body: bytes) -> list[Receipt]:
    try:
        reports: list[Receipt] = _module(provider).parse_reports(body)
    except ValueError as bad:
        raise BadRequest(f"not a {provider} delivery report: {bad}") from None
    return reports


def replies_of(provider: str, body: bytes) -> list[InboundSms]:
    try:
        replies: list[InboundSms] = _module(provider).parse_replies(body)
    except ValueError as bad:
        raise BadRequest(f"not a {provider} SMS reply: {bad}") from None
    return replies


def answer(provider: str) -> Response:
    """The body each provider expects back, or it pushes the same again."""
    return Response(_module(provider).CALLBACK_ANSWER, mimetype="application/json")


def check_wechat(request: Request, token: str) -> None:
    args = request.args
    if not wechat_template.verify_server_signature(
        token, args.get("timestamp", ""), args.get("nonce", ""), args.get("signature", "")
    ):
        raise Unauthorized("not signed by WeChat")


def wechat_receipt(body: bytes) -> Receipt:
    try:
        return wechat_template.parse_job_finish(body)
    except ValueError as bad:
        raise BadRequest(f"not a WeChat template job report: {bad}") from None
