"""RPC and timer entrypoints, typed, so services never import nameko themselves."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from nameko.exceptions import RemoteError
from nameko.rpc import Rpc as NamekoRpc
from nameko.timer import Timer
from nameko.timer import timer as nameko_timer

from kit.entrypoints import SignatureCheckedOnce
from kit.messaging import LOST_CONNECTION
from kit.providers import RpcClient, RpcTimeout, RpcUnavailable
from kit.settings import Settings

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class Rpc(SignatureCheckedOnce, NamekoRpc):  # type: ignore[misc]
    """nameko's RPC entrypoint, except that a reply it cannot send does not take the service
    down: the broker went away while the method ran, and nameko lets the failed publish kill
    the whole container. Here the request goes back to the queue (or, with the connection
    gone, the broker hands it out again when the consumer is back) and is answered then; if
    that is too late, the caller has timed out (``RpcTimeout``), which every caller treats as
    the service being unavailable. Our RPC methods are reads, or idempotent by command id."""

    def handle_result(
        self, message: Any, worker_ctx: Any, result: Any, exc_info: Any
    ) -> tuple[Any, Any]:
        try:
            answered: tuple[Any, Any] = super().handle_result(message, worker_ctx, result, exc_info)
        except LOST_CONNECTION as lost:
            log.warning("%s.%s: the reply could not go (%s); the request goes back to the "
                        "queue", self.container.service_name, self.method_name, lost)  # fmt: skip
            with contextlib.suppress(*LOST_CONNECTION):  # gone with the connection: the
                self.rpc_consumer.requeue_message(message)  # broker hands it out again anyway
            return result, exc_info
        return answered


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
