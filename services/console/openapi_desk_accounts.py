"""The OpenAPI paths of a user's own account, the live stream's tickets, phone search, the
downloads and leave (``accounts_api``, ``export_api``, ``leave_api``), joined into
``openapi.document``."""

from __future__ import annotations

from typing import Any

from services.console.openapi_schemas import TEXT

DOWNLOAD_TYPES = ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
FORMAT = {"enum": ["csv", "xlsx"]}


def desk_account_paths(op: Any, json: Any, error: Any, query: Any) -> dict[str, Any]:
    """The paths, made with ``openapi``'s own helpers (handed in: that module imports this)."""
    password_body = {"type": "object", "required": ["old", "new"],
                     "properties": {"old": TEXT, "new": TEXT}}  # fmt: skip
    download = {"description": "the file (Content-Disposition: attachment)",
                "content": {kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in DOWNLOAD_TYPES}}  # fmt: skip
    named = json(
        "code and Chinese name of each",
        {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "name"],
                "properties": {"code": TEXT, "name": TEXT},
                "additionalProperties": False,
            },
        },
    )
    return {
        "/api/v1/categories": {"get": op("the category catalogue, for the desk's picker", {
            "200": named}, tag="cases")},
        "/api/v1/departments": {"get": op("the departments, for the desk's 被反映单位 picker", {
            "200": named}, tag="cases")},
        "/api/v1/me/password": {"post": op("修改密码: every other token of yours stops working", {
            "204": {"description": "changed"},
            "422": error("old: wrong or missing; new: missing or too weak (the reasons)"),
            "429": error("too many wrong passwords")}, password_body, tag="who")},
        "/api/v1/me/logout-all": {"post": op("退出所有设备: every token of yours stops working", {
            "204": {"description": "signed out everywhere"}}, tag="who")},
        "/api/v1/stream/ticket": {"post": op("a ticket that opens the live stream once, in 30 s", {
            "201": json("the ticket", {
                "type": "object", "required": ["ticket", "expires_in"],
                "properties": {"ticket": TEXT, "expires_in": {"type": "integer"}},
                "additionalProperties": False})}, tag="supervision")},
        "/api/v1/cases/export": {"get": op("the filtered list within reach as CSV or XLSX", {
            "200": download, "422": error("format: csv or xlsx; or a filter is wrong")},
            params=[query("format", FORMAT), query("status"), query("channel"), query("risk"),
                    query("category"), query("level"), query("phone", note="a full number"),
                    query("mine", {"enum": ["1", "true", "0", "false"]})])},
        "/api/v1/assessment/export": {"get": op("一单考评 as CSV or XLSX", {
            "200": download, "403": error("not for your role"),
            "422": error("format: csv or xlsx; period: a year, quarter, month or day")},
            params=[query("format", FORMAT), query("period"),
                    query("kind", {"enum": ["department", "grid"]})], tag="supervision")},
    }  # fmt: skip


MOMENT = {"type": "string", "format": "date-time"}
LEAVE = {
    "type": "object", "required": ["leave_id", "person", "from", "to", "reason", "by"],
    "properties": {"leave_id": TEXT, "person": TEXT, "from": MOMENT, "to": MOMENT,
                   "reason": TEXT, "by": TEXT},
    "additionalProperties": False,
}  # fmt: skip
NEW_LEAVE = {
    "type": "object", "required": ["person", "from", "to"],
    "properties": {
        "person": {"type": "string", "pattern": "^(department|grid|person):[A-Za-z0-9_.-]{1,64}$"},
        "from": {"type": "string", "description": "YYYY-MM-DD (Beijing) or a date and time"},
        "to": {"type": "string", "description": "YYYY-MM-DD counts the whole day"},
        "reason": {"type": "string", "maxLength": 200}},
}  # fmt: skip


def leave_paths(op: Any, json: Any, error: Any, path: Any) -> dict[str, Any]:
    """请假 (AB岗): supervisors and administrators."""
    refused = error("supervisors and administrators only")
    return {
        "/api/v1/leave": {
            "get": op("leave not over yet", {
                "200": json("leaves", {"type": "array", "items": LEAVE}), "403": refused},
                tag="supervision"),
            "post": op("请假: the holder's alerts go to their deputy (B岗) while it lasts", {
                "201": json("the leave", LEAVE), "403": refused,
                "422": error("person, from, to or reason: each wrong one with its reason")},
                NEW_LEAVE, tag="supervision")},
        "/api/v1/leave/{leave_id}": {"delete": op("销假: withdraw a leave", {
            "204": {"description": "withdrawn"}, "403": refused,
            "404": error("no such leave")}, params=[path("leave_id")], tag="supervision")},
    }  # fmt: skip
