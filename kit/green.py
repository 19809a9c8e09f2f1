"""Green the process before anything else is imported: eventlet, and psycopg2 through
psycogreen so PostgreSQL waits yield to other greenlets instead of blocking the hub."""

from __future__ import annotations

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
