"""Delivering a status change to a source's callback URL, signed like its own requests."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime

from services.intake.domain import Source, sign
from services.intake.models import Callback

TIMEOUT_SECONDS = 5.0


def deliver(callback: Callback, source: Source | None, now: datetime) -> str | None:
    """POST the callback, signed at ``now``; None when the source took it (2xx), else what
    went wrong."""
    if source is None or not source.callback_url:
        return "the source no longer has a callback URL"
    body = callback.body.encode()
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(
        source.callback_url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Source": "civicflow",
            "X-Timestamp": timestamp,
            "X-Signature": sign(source.secret, timestamp, body),
            "X-Civicflow-Event-Id": callback.event_id,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            status = answer.status
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except OSError as error:
        return f"{type(error).__name__}: {error}"
    return None if 200 <= status < 300 else f"HTTP {status}"
