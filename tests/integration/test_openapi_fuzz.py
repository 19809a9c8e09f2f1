"""Intake and the console answer as their OpenAPI documents say, whatever schemathesis sends:
no 5xx, every status, Content-Type, header and body as documented, and no crash behind the
API either (a remote service failing, which the console answers 502).

One platform on the real broker (a scratch vhost) and SQLite. Intake is fuzzed with valid
signatures of a source registered for the run on all four lines (a hook signs each body) and
its Open311 key; the console with an admin's token, real case and order numbers mixed into
the generated ones. Deterministic generation, bounded examples: about a minute each."""

from __future__ import annotations

import copy
import json
import secrets
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from civicflow.demo import load_demo
from contracts.common import CHANNELS
from services.console.edge import CONFLICTS, NOT_FOUND, STATIC, UNPROCESSABLE
from tests.support.harness import CONFIG_DIR, Platform, http, running, settings_for_test
from tests.support.openapi_fuzz import CrashLog, FuzzConfig, FuzzReport, run_schemathesis

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]
FUZZ_SOURCE = "fuzzer"
FUZZ_KEY = "fuzzer-open311-key"
REFUSALS = frozenset(NOT_FOUND | UNPROCESSABLE | CONFLICTS | {"OrderAnswered"})
"""Exceptions of other services the console answers on purpose (404, 422, 409)."""
MAX_SECONDS = 900.0
"""A ceiling against a runaway (an unending stream read to each example's timeout), not a
benchmark: a run takes one to four minutes, by how busy the machine is."""
EXAMPLES = 15
"""Examples per operation: every operation, each status it documents, in a few minutes."""


@dataclass
class Fuzzed:
    platform: Platform
    secret: str
    token: str

    def url(self, service: str, path: str = "") -> str:
        return self.platform.url(service, path)

    def signing(self) -> dict[str, str]:
        """For the hook that signs each request as the fuzz source."""
        return {"CIVICFLOW_FUZZ_SOURCE": FUZZ_SOURCE, "CIVICFLOW_FUZZ_SECRET": self.secret}


def config_with_fuzz_source(target: Path, secret: str) -> Path:
    """The dev configuration, plus a source on all four lines whose secret is the run's."""
    shutil.copytree(CONFIG_DIR, target)
    sources_file = target / "sources.yml"
    document = yaml.safe_load(sources_file.read_text(encoding="utf-8"))
    document["sources"][FUZZ_SOURCE] = {
        "name": "schemathesis", "secret": secret, "api_key": FUZZ_KEY, "channels": list(CHANNELS),
    }  # fmt: skip
    sources_file.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("openapi-fuzz")
    secret = f"fuzz-secret-{secrets.token_hex(16)}"
    config = config_with_fuzz_source(data / "config", secret)
    with temporary_vhost(BASE_AMQP_URI) as vhost:
        settings = replace(settings_for_test(vhost, data), config_dir=config)
        with running(settings, SERVICES) as platform:
            load_demo(settings)
            body = json.dumps({"username": "admin", "password": "admin"}).encode()
            login = http("POST", platform.url("console", "/api/v1/auth/login"), body,
                         {"Content-Type": "application/json"})  # fmt: skip
            assert login.status == 200, login.body
            yield Fuzzed(platform, secret, login.body["token"])


def operations_in(document: dict[str, Any]) -> int:
    """The operations schemathesis tests: all but the one that served it the document."""
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    count = sum(1 for item in document["paths"].values() for method in item if method in methods)
    return count - (1 if "get" in document["paths"].get("/openapi.json", {}) else 0)


def settle(seconds: float = 2.0) -> None:
    """Let the events the run caused be consumed, so a consumer's crash is seen here."""
    time.sleep(seconds)


def assert_held(
    result: FuzzReport, crashes: CrashLog, document: dict[str, Any], disabled: int = 0
) -> None:
    """``disabled``: operations the config turns off on purpose (named there)."""
    assert result.failures == [] and result.exit_code == 0, result.details()
    expected = operations_in(document) - disabled
    assert result.operations == expected, result.summary("operations skipped")
    assert result.test_cases > 0
    assert not crashes.crashes, "crashes behind the API:\n" + "\n".join(crashes.crashes[:20])
    assert result.seconds < MAX_SECONDS, result.summary("too slow")


def test_intake_answers_as_its_openapi_document_says(fuzzed: Fuzzed, tmp_path: Path) -> None:
    document = http("GET", fuzzed.url("intake", "/openapi.json")).body
    offered = http("GET", fuzzed.url("intake", "/open311/v2/services.json")).body
    codes = [service["service_code"] for service in offered][:40]
    config = FuzzConfig(
        max_examples=EXAMPLES,
        auth={"open311_key": {"api_key": FUZZ_KEY}},
        dictionaries={"keys": [FUZZ_KEY], "services": codes},
        parameters={
            "body.api_key": {"dictionary": "keys", "probability": 0.9},
            "body.service_code": {"dictionary": "services", "probability": 0.5},
            "path.service_code": {"dictionary": "services", "probability": 0.5},
        },
    )
    with CrashLog(REFUSALS).watching() as crashes:
        result = run_schemathesis(
            fuzzed.url("intake", "/openapi.json"), config, tmp_path, fuzzed.signing()
        )
        settle()
    print(result.summary("intake"))
    assert_held(result, crashes, document)


def seed_cases(fuzzed: Fuzzed, count: int = 4) -> list[str]:
    """Real cases for the fuzz to act on, known to dispatch before it starts."""
    made = []
    for number in range(count):
        ticket = {
            "ticket_no": f"FUZZ-{uuid.uuid4().hex[:10]}",
            "received_at": "2026-11-21T10:00:00+08:00",
            "caller": {"phone": f"1391111{number:04d}"},
            "content": f"化工厂夜间排污 {number}",
            "category": "environment.pollution",
        }  # fmt: skip
        answer = fuzzed.platform.submit("/api/v1/hotline/tickets", ticket)
        assert answer.status == 202, answer.body
        made.append(str(answer.body["case_id"]))
    headers = {"Authorization": f"Bearer {fuzzed.token}"}
    deadline = time.monotonic() + 15
    for case_id in made:
        while http("GET", fuzzed.url("console", f"/api/v1/cases/{case_id}"), None,
                   headers).status != 200:  # fmt: skip
            assert time.monotonic() < deadline, f"dispatch never knew {case_id}"
            time.sleep(0.05)
    return made


def seed_order(fuzzed: Fuzzed, case_id: str) -> list[str]:
    """A 督办 order to answer, if the case takes one yet."""
    headers = {"Authorization": f"Bearer {fuzzed.token}", "Content-Type": "application/json"}
    body = json.dumps({"grade": "yellow", "note": "请加快办理"}).encode()
    answer = http("POST", fuzzed.url("console", f"/api/v1/cases/{case_id}/supervise"), body,
                  headers)  # fmt: skip
    return [str(answer.body["order_id"])] if answer.status == 201 else []


def test_console_answers_as_its_openapi_document_says(fuzzed: Fuzzed, tmp_path: Path) -> None:
    document = http("GET", fuzzed.url("console", "/openapi.json")).body
    cases = seed_cases(fuzzed)
    orders = seed_order(fuzzed, cases[0])
    files = sorted(path.name for path in STATIC.iterdir() if path.is_file())
    config = FuzzConfig(
        max_examples=EXAMPLES,
        auth={"bearer": {"bearer": fuzzed.token}},
        dictionaries={"cases": cases, "files": files, **({"orders": orders} if orders else {})},
        parameters={
            "path.case_id": {"dictionary": "cases", "probability": 0.5},
            "path.path": {"dictionary": "files", "probability": 0.5},
            **({"path.order_id": {"dictionary": "orders", "probability": 0.5}} if orders else {}),
        },
        operations=[
            # the event stream never ends: a short read of each, and few of them
            {"include-path": "/api/v1/stream", "request-timeout": 0.5,
             "generation": {"max-examples": 5}},
            # signing out everywhere would revoke the fuzzer's own token
            {"include-path": "/api/v1/me/logout-all", "enabled": False},
            # a new user's password is hashed (argon2, slow on purpose)
            {"include-path": "/api/v1/admin/users", "include-method": "POST",
             "generation": {"max-examples": 10}},
            # any action by name: each action has its own operation, fuzzed in full
            {"include-path": "/api/v1/cases/{case_id}/{action}",
             "generation": {"max-examples": 10}},
        ],
    )  # fmt: skip
    with CrashLog(REFUSALS).watching() as crashes:
        result = run_schemathesis(fuzzed.url("console", "/openapi.json"), config, tmp_path)
        settle()
    print(result.summary("console"))
    assert_held(result, crashes, document, disabled=1)  # logout-all, turned off above


def test_a_response_unlike_the_document_fails_the_run(fuzzed: Fuzzed, tmp_path: Path) -> None:
    """The harness itself: a document that lies about an answer (a case number said to be
    an integer) is caught, so a green run means the answers were checked."""
    document = copy.deepcopy(http("GET", fuzzed.url("intake", "/openapi.json")).body)
    document["components"]["schemas"]["Accepted"]["properties"]["case_id"] = {"type": "integer"}
    broken = tmp_path / "broken-openapi.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    result = run_schemathesis(
        str(broken), FuzzConfig(max_examples=10), tmp_path / "run", fuzzed.signing(),
        extra=["--url", fuzzed.url("intake"), "--include-operation-id", "submit_grid",
               "--phases", "fuzzing"],
    )  # fmt: skip
    print(result.summary("broken document"))
    assert result.exit_code != 0
    assert {f["code"] for f in result.failures} == {"ST108"}, result.details()
