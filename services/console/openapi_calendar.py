"""The OpenAPI paths of the working calendar (``holidays_api``), joined into
``openapi.document`` and made with its helpers (handed in: that module imports this)."""

from __future__ import annotations

from typing import Any

YEAR: dict[str, Any] = {"type": ["integer", "null"]}
DAY: dict[str, Any] = {"type": ["string", "null"], "format": "date"}
COVERAGE: dict[str, Any] = {
    "type": "object",
    "required": ["last_year", "last_day", "file_years", "notice"],
    "properties": {
        "last_year": YEAR,
        "last_day": DAY,
        "file_years": {"type": "array", "items": {"type": "integer"}},
        "notice": {"type": ["string", "null"],
                   "description": "the banner (Chinese), from 60 days before last_day"},
    },
}  # fmt: skip
HOLIDAYS_FILE: dict[str, Any] = {
    "type": "object",
    "required": ["text", *COVERAGE["required"]],
    "properties": {"text": {"type": "string"}, **COVERAGE["properties"]},
}
UPLOAD: dict[str, Any] = {
    "type": "object", "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 100_000,
                            "description": "holidays.yml's text"}},
}  # fmt: skip


def calendar_paths(op: Any, json: Any, error: Any) -> dict[str, Any]:
    """节假日安排: how far the calendar reaches, the banner, and the admin's upload."""
    return {
        "/api/v1/calendar": {"get": op(
            "how far the working calendar reaches, and the banner asking for the next year",
            {"200": json("coverage", COVERAGE), "403": error("supervisors and admins only")},
            tag="admin")},
        "/api/v1/admin/holidays": {
            "get": op("the installed holidays.yml and how far it reaches", {
                "200": json("file", HOLIDAYS_FILE), "403": error("admins only")}, tag="admin"),
            "put": op("validate and install holidays.yml; dispatch and supervision count their "
                      "next clocks on it", {
                "200": json("coverage", COVERAGE), "403": error("admins only"),
                "409": error("the configuration directory is read-only here (a ConfigMap): "
                             "import into the deployment's configuration instead"),
                "422": error("every problem, with its file, line and field")},
                UPLOAD, tag="admin")},
    }  # fmt: skip
