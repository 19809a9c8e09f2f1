"""Every service's ``/metrics`` after a real flow: the domain's counts move, the queue gauges
read the broker, nothing names a case or a phone, and ``promtool check metrics`` accepts it."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from civicflow.demo import load_demo
from kit.settings import SERVICES
from tests.support.harness import EventTap, Platform, running, settings_for_test

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def platform(vhost_uri: str, tmp_path: Path, database_url: str) -> Iterator[Platform]:
    settings = settings_for_test(vhost_uri, tmp_path, database_url)
    with running(settings) as platform:
        load_demo(settings)
        yield platform


def scrape(platform: Platform, service: str) -> str:
    with urllib.request.urlopen(platform.url(service, "/metrics"), timeout=5) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain")
        return str(answer.read().decode())


def samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def consumers(found: Samples) -> set[str]:
    """Queues the gauges saw with a consumer attached."""
    return {
        dict(labels)["queue"]
        for (name, labels), v in found.items()
        if name == "civicflow_queue_consumers" and v >= 1
    }


def until(check: Any, timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_a_flow_shows_in_every_service_s_metrics(platform: Platform) -> None:
    before = samples(scrape(platform, "intake"))
    tap = EventTap(platform.settings.amqp_uri)
    ticket_no = f"T-{uuid.uuid4().hex[:12]}"
    answer = platform.submit(
        "/api/v1/hotline/tickets",
        {
            "ticket_no": ticket_no,
            "received_at": "2026-11-21T10:00:00+08:00",
            "caller": {"name": "王先生", "phone": "13812341234"},
            "content": "饭店油烟污染严重",
            "category": "environment.pollution",
        },
    )
    assert answer.status == 202, answer.body
    case_id = answer.body["case_id"]
    tap.wait_for("case.dispatched", case_id, timeout=30)
    tap.wait_for("notification.sent", case_id, timeout=30)
    tap.close()

    # In process the six services share one registry: the deltas are this flow's own.
    def moved() -> Samples | None:
        after = samples(scrape(platform, "intake"))
        wanted = [
            ("civicflow_cases_received_total", {"line": "hotline"}),
            ("civicflow_cases_dispatched_total", {"level": "district", "mode": "auto"}),
            ("civicflow_notifications_total", {"channel": "sms", "result": "sent"}),
        ]
        grew = all(value(after, n, **lb) - value(before, n, **lb) >= 1 for n, lb in wanted)
        dispatching = any(queue.startswith("dispatch.") for queue in consumers(after))
        return after if grew and dispatching else None

    after = until(moved)
    assert after is not None, "the domain counters or dispatch's queue gauges did not move"
    assert any(
        name == "civicflow_dead_letter_messages" and dict(labels)["queue"].endswith(".dlq")
        for name, labels in after
    )

    for service in SERVICES:
        text = scrape(platform, service)
        assert case_id not in text and ticket_no not in text
        labels = {v for _name, pairs in samples(text) for _key, v in pairs}
        assert not [v for v in labels if re.search(r"1[3-9]\d{9}", v)], "a phone in a label"
        checked = promtool_check(text)
        assert checked.returncode == 0, f"{service}: {checked.stdout}{checked.stderr}"


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run scripts/ensure-promtool.sh (make test does)"
    return subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
