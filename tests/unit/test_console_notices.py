"""信访's written notices: the template's words for each step and stage, the petitioner's words
escaped, one notice per case, step and stage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.console import notices

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 15:00 in Beijing


def case(*steps: str) -> dict[str, Any]:
    return {
        "case_id": "CF260302-ABC123", "content": "征地补偿<script>alert(1)</script>",
        "citizen": {"name": "李**"}, "received_at": "2026-03-02T10:00:00+08:00",
        "assignee": {"code": "D-XFJ", "name": "县信访局"},
        "deadlines": {"answer_by": "2026-05-10T00:00:00+08:00"},
        "timeline": [{"action": step} for step in steps],
    }  # fmt: skip


def test_the_acknowledgement_tells_the_last_day_of_the_answer() -> None:
    notice = notices.notice_for("acknowledge", case("dispatch", "acknowledge"), {}, NOW)
    page = notice.content.decode()
    assert notice.name == "受理告知书-CF260302-ABC123.html"
    assert "李**：" in page and "2026年05月09日前出具书面处理意见" in page
    assert "2026年03月02日" in page and "县信访局" in page and "2026年03月10日" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_each_answer_is_the_notice_of_its_stage_and_says_what_may_follow() -> None:
    body = {"opinion": "补偿款已拨付"}
    first = notices.notice_for("answer", case("dispatch", "answer"), body, NOW)
    review = notices.notice_for("answer", case("answer", "request_review", "answer"), body, NOW)
    final = notices.notice_for(
        "answer", case("request_review", "answer", "request_review", "answer"), body, NOW
    )
    assert [n.name.split("-")[0] for n in (first, review, final)] == [
        "处理意见书", "复查意见书", "复核意见书"
    ]  # fmt: skip
    assert "补偿款已拨付" in first.content.decode()
    assert "请求复查" in first.content.decode() and "请求复核" in review.content.decode()
    assert "最终意见" in final.content.decode()
    assert len({first.attachment_id, review.attachment_id, final.attachment_id}) == 3


def test_the_same_step_again_names_the_same_notice() -> None:
    once = notices.notice_for("acknowledge", case("acknowledge"), {}, NOW)
    again = notices.notice_for("acknowledge", case("acknowledge"), {"note": "x"}, NOW)
    assert once.attachment_id == again.attachment_id and len(once.attachment_id) == 32
