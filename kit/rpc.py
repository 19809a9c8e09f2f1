"""RPC and timer entrypoints, typed, so services never import nameko themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from nameko.rpc import rpc as nameko_rpc
from nameko.timer import timer as nameko_timer

from kit.providers import RpcClient, RpcTimeout, RpcUnavailable

F = TypeVar("F", bound=Callable[..., Any])


def rpc(method: F) -> F:
    """Expose a method over RPC (``<service>.<method>``)."""
    return cast(F, nameko_rpc(method))


def timer(interval: float) -> Callable[[F], F]:
    """Run a method every ``interval`` seconds."""
    return cast(Callable[[F], F], nameko_timer(interval=interval))


__all__ = ["RpcClient", "RpcTimeout", "RpcUnavailable", "rpc", "timer"]
