"""Running services in a nameko container: config from ``Settings`` and clean signals."""

from __future__ import annotations

import errno
import gc
import logging
import signal
from typing import Any

import eventlet
from nameko.containers import ServiceContainer

from kit import logs
from kit.amqp import nameko_config
from kit.nameko_fixes import StartThenStopRunner
from kit.settings import Settings


def container_config(settings: Settings, service: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "AMQP_URI": settings.amqp_uri,
        "WEB_SERVER_ADDRESS": settings.http_address_for(service),
        "max_workers": settings.max_workers,
        "parent_calls_tracked": 4,
        "serializer": "json",
        "HEARTBEAT": settings.amqp_heartbeat,
        "CIVICFLOW": settings,
    }
    ssl = nameko_config(settings.amqp_uri, settings.amqp_tls)
    if ssl is not None:  # amqps://: nameko hands it to kombu as ssl= for all its connections
        config["AMQP_SSL"] = ssl
    return config


def configure_logging(level: str = "INFO", service: str = "civicflow") -> None:
    logs.configure(service, level)
    logging.getLogger("nameko").setLevel(logging.WARNING)
    # nameko reports every expected refusal (a 401, a parked message) as a warning with a
    # traceback; the kit logs those itself, in one line.
    logging.getLogger("nameko.containers").setLevel(logging.ERROR)
    logging.getLogger("amqp").setLevel(logging.WARNING)


def run_until_signalled(service_cls: type, settings: Settings) -> None:
    """Start one service and stop it gracefully on SIGTERM or Ctrl-C (twice: kill)."""
    runner = StartThenStopRunner(container_config(settings, service_cls.name))  # type: ignore[attr-defined]
    runner.add_service(service_cls)

    def shutdown(_signum: int, _frame: Any) -> None:
        # Signal handlers run outside the hub; stopping must happen in a greenlet. A SIGTERM
        # that comes while the service starts is carried out once it has started.
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    try:
        runner.start()
    except KeyboardInterrupt:
        runner.kill()
        return
    settle_the_collector()
    waiter = eventlet.spawn(runner.wait)
    while True:
        try:
            waiter.wait()
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            raise
        except KeyboardInterrupt:
            try:
                runner.stop()
            except KeyboardInterrupt:
                runner.kill()
        else:
            break


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two collections of the youngest objects (CPython's default: 700)."""


def settle_the_collector() -> None:
    """Keep the garbage collector to what a running service makes: what a started service
    holds (modules, classes, compiled statements, models) stays for the rest of its life, so
    it is frozen out of full collections (``gc.freeze``, made for this), and a burst's
    short-lived objects are collected less often.

    Both stay for the measurement in ``docs/performance.md``, item 24 ("A started service
    settles its garbage collector"), and go if ``make bench`` stops showing it.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, 10, 10)


class InProcess:
    """Several services in this process, one container each (tests, benchmarks, tools)."""

    def __init__(self, service_classes: list[type], settings: Settings) -> None:
        self.containers = [
            ServiceContainer(cls, container_config(settings, cls.name))  # type: ignore[attr-defined]
            for cls in service_classes
        ]

    def start(self) -> InProcess:
        for container in self.containers:
            container.start()
        return self

    def stop(self) -> None:
        for container in reversed(self.containers):
            container.stop()

    def kill(self) -> None:
        for container in reversed(self.containers):
            container.kill()
