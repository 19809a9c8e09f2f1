"""How the kit's HTTP entrypoint answers what went wrong behind it: every error in the shape
``{"errors": [{"loc", "msg"}]}``, with the status that says whose fault it is."""

from __future__ import annotations

import json

from nameko.exceptions import RemoteError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import MethodNotAllowed

from kit.rpc import RpcTimeout, RpcUnavailable
from kit.web import JsonHttp


def answer(exc: Exception) -> tuple[int, dict[str, str], object]:
    response = JsonHttp("GET", "/probe").response_from_exception(exc)
    assert response.mimetype == "application/json"
    return response.status_code, dict(response.headers), json.loads(response.get_data())


def test_an_rpc_timeout_is_503_with_retry_after() -> None:
    status, headers, body = answer(RpcTimeout("dispatch.get_case gave no answer in 5.0s"))
    assert status == 503 and headers["Retry-After"] == "2"
    assert body == {"errors": [{"loc": [], "msg": "another service is not answering; retry"}]}


def test_no_service_to_call_is_503_too() -> None:
    status, headers, _ = answer(RpcUnavailable("no dispatch service is running"))
    assert status == 503 and headers["Retry-After"] == "2"


def test_a_database_that_cannot_store_is_still_503() -> None:
    status, headers, body = answer(OperationalError("INSERT", {}, Exception("locked")))
    assert status == 503 and headers["Retry-After"] == "2"
    assert body == {"errors": [{"loc": [], "msg": "temporarily unable to store; retry"}]}


def test_a_remote_crash_is_502_and_its_message_stays_inside() -> None:
    crash = RemoteError("ProgrammingError", 'relation "cases" does not exist; password=hunter2')
    status, _, body = answer(crash)
    assert status == 502
    assert body == {"errors": [{"loc": [], "msg": "a service behind this one failed"}]}


def test_a_405_raised_by_werkzeug_keeps_its_allow_header() -> None:
    status, headers, body = answer(MethodNotAllowed(["POST", "GET"]))
    assert (status, headers["Allow"]) == (405, "GET, POST")
    assert body["errors"][0]["loc"] == []  # type: ignore[index]


def test_anything_else_is_still_a_500_that_says_nothing() -> None:
    status, _, body = answer(KeyError("secret internals"))
    assert status == 500 and body == {"errors": [{"loc": [], "msg": "internal error"}]}
