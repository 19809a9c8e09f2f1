"""How the runner stops a service that is still starting, and what a started service does to
its heap."""

from __future__ import annotations

import gc
import socket
from collections.abc import Iterator
from typing import Any

import eventlet
import eventlet.event
import pytest
from nameko.extensions import DependencyProvider

from kit.nameko_fixes import StartThenStopRunner
from kit.runner import YOUNG_COLLECTION_THRESHOLD, settle_the_collector
from kit.web import http
from tests.support.harness import free_port


class HeldSetup(DependencyProvider):  # type: ignore[misc]
    """Holds the container's start in its setup until the test lets it go."""

    entered = eventlet.event.Event()
    release = eventlet.event.Event()

    def setup(self) -> None:
        type(self).entered.send(True)
        type(self).release.wait()


class SlowStartingService:
    name = "probe"
    held = HeldSetup()

    @http("GET", "/ping")
    def ping(self, _request: Any) -> dict[str, bool]:
        return {"pong": True}


def serving(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return False
    return True


def test_a_stop_that_comes_while_the_service_starts_stops_it_once_started() -> None:
    """nameko's container, stopped while starting, stops extensions not started yet (its web
    server raises) and then starts them anyway: an early SIGTERM waits for the start."""
    HeldSetup.entered, HeldSetup.release = eventlet.event.Event(), eventlet.event.Event()
    port = free_port()
    runner = StartThenStopRunner({"WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"})
    runner.add_service(SlowStartingService)
    starting = eventlet.spawn(runner.start)
    HeldSetup.entered.wait()
    stopping = eventlet.spawn(runner.stop)
    eventlet.sleep(0.1)  # the stop goes as far as it can while the start is held
    HeldSetup.release.send(True)
    with eventlet.Timeout(10):
        starting.wait()
        stopping.wait()
    assert not serving(port)


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_what_a_started_service_holds_is_kept_out_of_full_collections() -> None:
    held = {"kept": [object() for _ in range(1000)]}
    settle_the_collector()
    assert gc.get_freeze_count() >= 1000
    assert not any(held is tracked for tracked in gc.get_objects(generation=2))
    later = [object()]
    gc.collect(1)
    assert any(later is tracked for tracked in gc.get_objects(generation=2))


@pytest.mark.usefixtures("collector")
def test_young_objects_are_collected_less_often() -> None:
    settle_the_collector()
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD > 700
