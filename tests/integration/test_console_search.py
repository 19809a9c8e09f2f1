"""The console's case search over the real broker, on SQLite and PostgreSQL: the 1.1 filters
passed through to dispatch within each user's reach, bad values refused naming the field,
pages walked by cursor and by number, and the overdue board paged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from civicflow.demo import load_demo
from tests.integration.test_console import api, hotline, login
from tests.support import databases
from tests.support.harness import Platform, running, settings_for_test

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

SERVICES = ["intake", "grid", "dispatch", "supervision", "console"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Platform]:  # fmt: skip
    from tests.conftest import BASE_AMQP_URI
    from tests.support.harness import temporary_vhost

    data = tmp_path_factory.mktemp("search")
    with temporary_vhost(BASE_AMQP_URI) as vhost, ExitStack() as stack:
        url = None
        if request.param == "postgresql":
            url = stack.enter_context(databases.temporary_postgres())
        settings = settings_for_test(vhost, Path(data), url)
        platform = stack.enter_context(running(settings, SERVICES))
        load_demo(settings)
        yield platform


@pytest.fixture(scope="module")
def tokens(platform: Platform) -> dict[str, str]:
    return {user: str(login(platform, user).body["token"]) for user in ("admin", "hbj", "zjj")}


@pytest.fixture(scope="module")
def made(platform: Platform, tokens: dict[str, str]) -> dict[str, str]:
    """Two county matters for 生态环境 (D-HBJ), three words of content apart."""
    cases = {
        "smoke": hotline(platform, "饭店油烟污染严重晚上还在排烟", "13911120001",
                         category="environment.pollution"),
        "river": hotline(platform, "化工厂排污河水发黑", "13911120002",
                         category="environment.pollution"),
    }  # fmt: skip
    for case_id in cases.values():
        deadline = time.monotonic() + 10
        while api(platform, tokens["admin"], "GET", f"/api/v1/cases/{case_id}").status != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return cases


def listed(platform: Platform, token: str, **query: Any) -> Any:
    answer = api(platform, token, "GET", "/api/v1/cases?" + urlencode(query))
    assert answer.status == 200, answer.body
    return answer.body


def found(platform: Platform, token: str, **query: Any) -> set[str]:
    return {case["case_id"] for case in listed(platform, token, **query)["items"]}


def test_q_finds_chinese_words_within_reach(
    platform: Platform, tokens: dict[str, str], made: dict[str, str]
) -> None:
    assert found(platform, tokens["admin"], q="油烟") == {made["smoke"]}
    assert found(platform, tokens["admin"], q="河水排污") == {made["river"]}
    assert found(platform, tokens["hbj"], q="油烟", status="dispatched") == {made["smoke"]}
    assert found(platform, tokens["zjj"], q="油烟") == set()  # not 住建's: as before


def test_dates_unit_and_overdue_pass_through(
    platform: Platform, tokens: dict[str, str], made: dict[str, str]
) -> None:
    both = set(made.values())
    assert found(platform, tokens["admin"], **{"from": "2026-11-21", "to": "2026-11-21"}) >= both
    assert found(platform, tokens["admin"], **{"from": "2026-11-22"}) & both == set()
    assert found(platform, tokens["admin"], unit="D-HBJ") >= both
    assert found(platform, tokens["admin"], unit="D-ZJJ") & both == set()
    assert found(platform, tokens["admin"], overdue="true") & both == set()  # limits ahead


@pytest.mark.parametrize(
    ("query", "field"),
    [({"from": "2026-13-01"}, "from"), ({"to": "21/11/2026"}, "to"),
     ({"from": "2026-11-22", "to": "2026-11-21"}, "to"), ({"overdue": "maybe"}, "overdue"),
     ({"channel": "fax"}, "channel"), ({"q": "字" * 201}, "q"), ({"after": "nope"}, "after")],
)  # fmt: skip
def test_a_bad_filter_is_422_naming_it(
    platform: Platform, tokens: dict[str, str], query: dict[str, str], field: str
) -> None:
    answer = api(platform, tokens["admin"], "GET", "/api/v1/cases?" + urlencode(query))
    assert answer.status == 422, answer.body
    assert [error["loc"] for error in answer.body["errors"]] == [[field]]


def test_pages_walk_by_cursor_and_by_number(
    platform: Platform, tokens: dict[str, str], made: dict[str, str]
) -> None:
    first = listed(platform, tokens["hbj"], page_size=1, category="environment.pollution")
    assert first["total"] >= 2 and first["next"]
    walked, page = [c["case_id"] for c in first["items"]], first
    while page["next"]:
        page = listed(platform, tokens["hbj"], page_size=1, after=page["next"],
                      category="environment.pollution")  # fmt: skip
        walked += [c["case_id"] for c in page["items"]]
    assert len(walked) == len(set(walked)) == first["total"] and set(made.values()) <= set(walked)
    numbered = [listed(platform, tokens["hbj"], page=n, page_size=1,
                       category="environment.pollution")["items"][0]["case_id"]
                for n in range(1, len(walked) + 1)]  # fmt: skip
    assert numbered == walked


def test_the_board_is_paged_and_refuses_a_bad_cursor(
    platform: Platform, tokens: dict[str, str]
) -> None:
    board = api(platform, tokens["admin"], "GET", "/api/v1/board")
    assert board.status == 200 and set(board.body) == {"units", "totals", "next"}
    refused = api(platform, tokens["admin"], "GET", "/api/v1/board?after=nope")
    assert refused.status == 422 and refused.body["errors"][0]["loc"] == ["after"]
