"""What every real provider adapter speaks: one message out, its failure, and what comes back
(delivery receipts, citizens' SMS replies). No I/O here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

GatewayChannel = Literal["sms", "wechat", "wecom", "file"]


@dataclass(frozen=True)
class Message:
    """One message to one address.

    ``text`` is the rendered message (what a file provider writes and a WeCom robot posts);
    ``template`` and ``params`` are the same message for providers that only send templates
    registered with them (Aliyun and Tencent SMS, WeChat template messages): our template's
    name, mapped by the adapter's configuration to the provider's template id, and its
    variables as strings. ``reference`` is ours (the delivery id), echoed back by receipts
    where the provider allows it.
    """

    address: str
    """A phone number (+86 mobile, 11 digits), a WeChat openid, or a WeCom robot key."""
    text: str
    template: str
    params: dict[str, str] = field(default_factory=dict)
    reference: str = ""


class GatewayError(Exception):
    """The provider refused or failed.

    ``transient``: trying again later may help (a timeout, a 5xx, throttling); otherwise the
    delivery stops at once (an invalid number, a rejected template, bad credentials).
    ``code`` is the provider's own error code, kept in the delivery record.
    """

    def __init__(self, message: str, *, transient: bool, code: str = "") -> None:
        super().__init__(message)
        self.transient = transient
        self.code = code


class Gateway(Protocol):
    name: str
    channel: GatewayChannel

    def send(self, message: Message) -> str:
        """Send; the provider's message id. Raises ``GatewayError``."""
        ...


@dataclass(frozen=True)
class Receipt:
    """A provider's word on one message it took: delivered or not."""

    provider_message_id: str
    delivered: bool
    at: datetime | None
    code: str = ""
    """The provider's status or error code (``DELIVRD``, ``UNDELIV``, ``MK:0001`` …)."""
    phone: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class InboundSms:
    """A citizen's SMS reply, as the provider's inbound (上行) callback brings it."""

    phone: str
    text: str
    at: datetime | None
    sign_name: str | None = None
    extend: str | None = None
    """The extension code of the number it was sent to, where the provider gives it."""
