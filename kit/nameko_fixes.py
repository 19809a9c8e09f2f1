"""Workarounds for bugs of nameko 2.14.1's ``QueueConsumer`` (``nameko.messaging``).

Each one is a test in ``tests/integration/test_kit.py`` that fails without it.

1. ``QueueConsumer.stop()`` before ``start()``: ``stop`` kills and waits for the consumer's
   thread, which only ``start`` makes, so stopping a consumer that never started raises
   ``AttributeError: 'NoneType' object has no attribute 'kill'`` and the container cannot stop
   (a container stopped before it started, or whose start failed on another extension).
   Here a consumer never started stops at once.

2. ``QueueConsumer.unregister_provider()`` before the consumers are ready: nameko signals "the
   last provider is gone" for every provider unregistered then, not for the last one, and the
   second signal raises eventlet's ``AssertionError: Trying to re-send() an already-triggered
   event``, so a service with two consuming entrypoints stopped while (or before) starting cannot
   stop. Here a provider unregistered before the consumers are ready is let go as nameko's
   ``ProviderCollector`` does it, which signals once, when the last one goes.
"""

from __future__ import annotations

from typing import Any

from nameko.extensions import ProviderCollector
from nameko.messaging import QueueConsumer


class StoppableQueueConsumer(QueueConsumer):  # type: ignore[misc]
    """nameko's queue consumer, stoppable whenever its container stops."""

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
