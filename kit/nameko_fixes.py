"""Workarounds for bugs of nameko 2.14.1, each named after the nameko behaviour it fixes.

Each one has a test that fails without it: 1 to 3 in ``tests/integration/test_kit.py``, 4 in
``tests/unit/test_kit_runner.py``.

1. ``nameko.messaging.QueueConsumer.stop()`` before ``start()``: ``stop`` kills and waits for
   the consumer's thread, which only ``start`` makes, so stopping a consumer that never started
   raises ``AttributeError: 'NoneType' object has no attribute 'kill'`` and the container cannot
   stop (a container stopped before it started, or whose start failed on another extension).
   ``StoppableQueueConsumer``, never started, stops at once.

2. ``nameko.messaging.QueueConsumer.unregister_provider()`` before the consumers are ready:
   nameko signals "the last provider is gone" for every provider unregistered then, not for the
   last one, and the second signal raises eventlet's ``AssertionError: Trying to re-send() an
   already-triggered event``, so a service with two consuming entrypoints stopped while (or
   before) starting cannot stop. ``StoppableQueueConsumer`` lets a provider unregistered before
   the consumers are ready go as nameko's ``ProviderCollector`` does it, which signals once,
   when the last one goes.

3. ``nameko.rpc.Rpc.handle_result()`` (through ``RpcConsumer.handle_result`` and
   ``Responder.send_response``) publishes the reply in the worker's thread; a reply that cannot
   be published because the broker connection was lost raises there, and nameko's
   ``ServiceContainer._handle_thread_exited`` kills the whole container for an error in a
   worker's thread. ``ReplyTolerantRpc`` requeues the request instead: it is answered when it
   comes again (or, the connection being gone, the broker hands it out again when the consumer
   is back); if that is too late the caller has timed out, which every caller treats as the
   service being unavailable. Our RPC methods are reads, or idempotent by command id.

4. ``nameko.containers.ServiceContainer.stop()`` while ``start()`` is still running: stop does
   not wait for start, so it stops extensions that are not started yet (nameko's
   ``QueueConsumer.stop`` and ``nameko.web.server.WebServer.stop`` both dereference the thread
   ``start`` makes, and raise) and, once start ends, the container runs on as if never stopped.
   ``StartThenStopRunner``, a ``nameko.runners.ServiceRunner``, makes a stop that comes while
   its containers are starting (an early SIGTERM) wait for the start to end.

``nameko.web.server.WebServer.stop()`` before ``start()`` raises as in 1, and is left as it is:
the kit stops a container only once its start has ended (``StartThenStopRunner``;
``kit.runner.InProcess`` stops only what its ``start`` returned), and a start that ended
without starting the web server raised, which ends ``civicflow run`` with that error.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import eventlet.event
from nameko.extensions import ProviderCollector
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc
from nameko.runners import ServiceRunner

from kit.amqp import LOST_CONNECTION

log = logging.getLogger(__name__)


class StoppableQueueConsumer(QueueConsumer):  # type: ignore[misc]
    """nameko's queue consumer, stoppable whenever its container stops (fixes 1 and 2)."""

    started = False
    """``start`` was called: there is a consumer thread to stop."""
    consuming = False
    """The consumers were ready once: a provider is unregistered by cancelling its consumer."""

    def start(self) -> None:
        self.started = True
        super().start()

    def stop(self) -> None:
        if not self.started:
            return
        super().stop()

    def on_consume_ready(self, *args: Any, **kwargs: Any) -> None:
        self.consuming = True
        super().on_consume_ready(*args, **kwargs)

    def unregister_provider(self, provider: Any) -> None:
        if not self.consuming:
            ProviderCollector.unregister_provider(self, provider)
            return
        super().unregister_provider(provider)


class ReplyTolerantRpc(Rpc):  # type: ignore[misc]
    """nameko's RPC entrypoint, whose reply lost with the connection requeues the request
    instead of killing the container (fix 3)."""

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


class StartThenStopRunner(ServiceRunner):  # type: ignore[misc]
    """nameko's service runner, whose ``stop`` waits for a ``start`` under way to end (fix 4).

    A stop asked for before ``start`` is called waits for it too: the runner is made to be
    started."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.start_ended = eventlet.event.Event()

    def start(self) -> None:
        try:
            super().start()
        finally:
            if not self.start_ended.ready():
                self.start_ended.send(True)

    def stop(self) -> None:
        self.start_ended.wait()
        super().stop()
