"""Calls that wait, run side by side: results in order, waits overlapped."""

from __future__ import annotations

import time
from collections.abc import Callable

import eventlet

from kit.green import concurrently, off_the_hub


def test_results_come_back_in_the_order_of_the_items() -> None:
    def slow_for_the_first(n: int) -> int:
        eventlet.sleep(0.05 if n == 0 else 0.0)
        return n * n

    assert concurrently(slow_for_the_first, range(6), width=3) == [0, 1, 4, 9, 16, 25]


def test_waits_overlap_up_to_the_width() -> None:
    def wait(_n: int) -> None:
        eventlet.sleep(0.1)

    started = time.monotonic()
    concurrently(wait, range(8), width=8)
    together = time.monotonic() - started
    started = time.monotonic()
    concurrently(wait, range(4), width=1)
    one_by_one = time.monotonic() - started
    assert together < 0.3  # eight waits of 0.1 s at once, not 0.8 s
    assert one_by_one >= 0.4  # width 1: they queue


def test_a_call_off_the_hub_lets_the_other_greenlets_run() -> None:
    blocking_sleep = eventlet.patcher.original("time").sleep  # sleeps in the kernel, as fsync

    def ticks_during(call: Callable[[], None]) -> int:
        ticks = [0]

        def tick() -> None:
            while True:
                ticks[0] += 1
                eventlet.sleep(0.01)

        ticker = eventlet.spawn(tick)
        eventlet.sleep(0)  # the ticker starts
        before = ticks[0]
        call()
        ticker.kill()
        return ticks[0] - before

    assert ticks_during(lambda: blocking_sleep(0.3)) == 0  # on the hub: everything stops
    assert ticks_during(lambda: off_the_hub(blocking_sleep, 0.3)) >= 10
    assert off_the_hub(sum, [1, 2, 3]) == 6
