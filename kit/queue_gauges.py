"""The depth and consumers of a service's work queues and dead-letter queues, as metrics."""

from __future__ import annotations

import logging
import threading

from nameko.extensions import SharedExtension

from kit import metrics
from kit.amqp import config_connection

log = logging.getLogger(__name__)


class QueueGauges(SharedExtension):  # type: ignore[misc]
    """Depth and consumers of this service's work queues and dead-letter queues, as metrics.

    Asked of the broker (a passive declare) every few seconds, so an operator sees a backlog or
    a parked message from the service's own ``/metrics`` without the management plugin.
    """

    interval = 5.0

    def __init__(self) -> None:
        self.queues: dict[str, bool] = {}  # name → is a dead-letter queue
        self._stopped = threading.Event()

    def watch(self, queue: str, dead_letter_queue: str) -> None:
        self.queues[queue] = False
        self.queues[dead_letter_queue] = True

    def start(self) -> None:
        self._stopped.clear()
        self.container.spawn_managed_thread(self.run, identifier="QueueGauges.run")

    def stop(self) -> None:
        self._stopped.set()  # wakes the loop at once, so stopping never waits out an interval

    kill = stop

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                self.read_once()
            except Exception as exc:  # the broker is away: the gauges keep their last value
                log.debug("queue gauges: %r", exc)
            self._stopped.wait(self.interval)

    def read_once(self) -> None:
        with config_connection(self.container.config, connect_timeout=5) as connection:
            channel = connection.default_channel
            for name, parked in list(self.queues.items()):
                _, ready, consumers = channel.queue_declare(queue=name, passive=True)
                if parked:
                    metrics.DEAD_LETTER_MESSAGES.labels(name).set(ready)
                else:
                    metrics.QUEUE_MESSAGES.labels(name).set(ready)
                    metrics.QUEUE_CONSUMERS.labels(name).set(consumers)
