"""Prometheus metrics of the kit; names follow Prometheus conventions, ``civicflow_`` first.

Labels never carry case ids or phone numbers: only queues, event types, routes and statuses.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()

MESSAGES_CONSUMED = Counter(
    "civicflow_messages_consumed_total", "Messages handled successfully", ["queue", "type"]
)
MESSAGES_FAILED = Counter(
    "civicflow_messages_failed_total", "Handler attempts that raised", ["queue", "type"]
)
MESSAGES_PARKED = Counter(
    "civicflow_messages_parked_total", "Messages parked in a dead-letter queue", ["queue"]
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


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
