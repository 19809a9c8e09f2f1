"""Green the process before anything else is imported: eventlet, and psycopg2 through
psycogreen so PostgreSQL waits yield to other greenlets instead of blocking the hub."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_patched = False


def patch() -> None:
    global _patched
    if _patched:
        return
    import warnings

    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    try:
        from psycogreen.eventlet import patch_psycopg
    except ImportError:  # pragma: no cover - psycopg2 is a dependency, but SQLite needs none
        pass
    else:
        patch_psycopg()
    _patched = True


def concurrently(function: Callable[[T], R], items: Iterable[T], width: int = 8) -> list[R]:
    """``function`` over ``items``, up to ``width`` at a time in green threads, results in
    order: calls that mostly wait (another service's answer) overlap instead of queueing."""
    import eventlet

    return list(eventlet.GreenPool(width).imap(function, items))


def off_the_hub(function: Callable[..., R], *args: Any) -> R:
    """``function(*args)`` in a real thread, the calling greenlet waiting green: for a call
    that blocks in the kernel (``fsync``), which would otherwise stop every greenlet of the
    process, heartbeats included, until it returns."""
    if not _patched:
        return function(*args)
    from eventlet import tpool

    return tpool.execute(function, *args)  # type: ignore[no-any-return]
