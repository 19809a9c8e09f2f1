"""What the supervision service is asked to do besides following cases: commands, each
handled by one function of ``handlers``."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.rpc import OrderRequest


@dataclass(frozen=True)
class IssueOrder:
    """督办: a supervisor orders the unit holding the case to act by a time."""

    case_id: str
    request: OrderRequest
    issued_by: str


@dataclass(frozen=True)
class ReplyToOrder:
    """督办回复: the unit answers an order."""

    order_id: str
    reply: str
    by: str


@dataclass(frozen=True)
class Unsubscribe:
    """A supervisor drops one of their subscriptions."""

    subscription_id: int
    subscriber: str
