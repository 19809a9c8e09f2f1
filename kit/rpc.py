"""RPC and timer entrypoints, typed, so services never import nameko themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from nameko.exceptions import RemoteError
from nameko.timer import Timer
from nameko.timer import timer as nameko_timer

from kit.entrypoints import SignatureCheckedOnce
from kit.nameko_fixes import ReplyTolerantRpc
from kit.providers import RpcClient, RpcTimeout, RpcUnavailable
from kit.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class Rpc(SignatureCheckedOnce, ReplyTolerantRpc):
    """nameko's RPC entrypoint, its reply lost with the broker connection requeuing the request
    rather than killing the service (``kit.nameko_fixes.ReplyTolerantRpc``)."""


def rpc(method: F) -> F:
    """Expose a method over RPC (``<service>.<method>``)."""
    return cast(F, Rpc.decorator(method))


def timer(interval: float) -> Callable[[F], F]:
    """Run a method every ``interval`` seconds."""
    return cast(Callable[[F], F], nameko_timer(interval=interval))


class SettingsTimer(Timer):  # type: ignore[misc]
    """A timer whose interval is read from the settings when the container starts."""

    def __init__(self, interval_of: Callable[[Settings], float], **kwargs: Any) -> None:
        super().__init__(interval=0.0, **kwargs)
        self.interval_of = interval_of

    def setup(self) -> None:
        self.interval = self.interval_of(self.container.config["CIVICFLOW"])


def every(interval_of: Callable[[Settings], float]) -> Callable[[F], F]:
    """Run a method every ``interval_of(settings)`` seconds (a setting, so tests and operators
    can change it without touching code)."""
    return cast(Callable[[F], F], SettingsTimer.decorator(interval_of=interval_of))


__all__ = ["RemoteError", "RpcClient", "RpcTimeout", "RpcUnavailable", "every", "rpc", "timer"]
