"""Prometheus metrics of the kit; names follow Prometheus conventions, ``civicflow_`` first.

Labels never carry case ids or phone numbers: only queues, event types, routes and statuses.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

log = logging.getLogger(__name__)

disable_created_metrics()

MESSAGES_CONSUMED = Counter(
    "civicflow_messages_consumed_total", "Messages handled successfully", ["queue", "type"]
)
MESSAGES_FAILED = Counter(
    "civicflow_messages_failed_total", "Handler attempts that raised", ["queue", "type"]
)
MESSAGES_PARKED = Counter(
    "civicflow_messages_parked_total", "Messages parked in a dead-letter queue", ["queue", "type"]
)
HANDLER_SECONDS = Histogram(
    "civicflow_handler_duration_seconds",
    "Time spent handling one message",
    ["queue"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
OUTBOX_BACKLOG = Gauge(
    "civicflow_outbox_backlog", "Committed events not yet published", ["service"]
)
OUTBOX_AGE = Gauge(
    "civicflow_outbox_oldest_age_seconds", "Age of the oldest unpublished event", ["service"]
)
OUTBOX_RELAYED = Counter(
    "civicflow_outbox_relayed_total", "Events published with a broker confirm", ["service"]
)
HTTP_REQUESTS = Counter(
    "civicflow_http_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_SECONDS = Histogram(
    "civicflow_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
RPC_SECONDS = Histogram(
    "civicflow_rpc_client_duration_seconds", "Time of an outgoing RPC call", ["target", "method"]
)


QUEUE_MESSAGES = Gauge(
    "civicflow_queue_messages", "Messages ready in a queue this service consumes", ["queue"]
)
QUEUE_CONSUMERS = Gauge(
    "civicflow_queue_consumers", "Consumers attached to a queue this service consumes", ["queue"]
)
DEAD_LETTER_MESSAGES = Gauge(
    "civicflow_dead_letter_messages", "Messages parked in this service's dead-letter queue",
    ["queue"],
)  # fmt: skip

CALENDAR_LAST_KNOWN_DAY = Gauge(
    "civicflow_calendar_last_known_day_timestamp_seconds",
    "Start of the last day whose holiday arrangement the working calendar knows (UTC), unix time",
)
CALENDAR_UNCERTAIN_CLOCKS = Counter(
    "civicflow_calendar_uncertain_clocks_total",
    "Clocks counted Monday to Friday in a year whose holiday arrangement is unknown",
    ["clock"],
)

Meter = Callable[[Any], None]
"""Counts one committed event's data in the domain's own metrics."""

_meters: dict[str, Meter] = {}


def meter(event_type: str) -> Callable[[Meter], Meter]:
    """Register a domain meter for one event type; it runs once the event is committed."""

    def register(function: Meter) -> Meter:
        _meters[event_type] = function
        return function

    return register


def observe_committed(envelopes: Iterable[Any]) -> None:
    for envelope in envelopes:
        counting = _meters.get(envelope.type)
        if counting is None:
            continue
        try:
            counting(envelope.data)
        except Exception:  # a meter must never undo or fail the work it counts
            log.exception("meter of %s failed", envelope.type)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
