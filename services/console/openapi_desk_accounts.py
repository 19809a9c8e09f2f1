"""The OpenAPI paths of a user's own account, the live stream's tickets, phone search and the
downloads (``accounts_api``, ``export_api``), joined into ``openapi.document``."""

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
    return {
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
