"""The OpenAPI paths of the fair score's per-person figures and accountability records
(``fairscore_api``), joined into ``openapi.document``."""

from __future__ import annotations

from typing import Any

from services.console.openapi_schemas import TEXT

COUNT = {"type": "integer", "minimum": 0}
RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
PERIOD = {"type": "string", "pattern": r"^[0-9]{4}(-Q[1-4]|-[0-9]{2}(-[0-9]{2})?)?$"}
PERSON_ROW = {
    "type": "object",
    "required": ["person", "role", "unit_kind", "unit_code", "unit_name", "signed", "fed_back",
                 "concluded", "resolved_on_site", "on_time", "late", "on_time_rate"],
    "properties": {
        "person": TEXT, "role": {"enum": ["handler", "grid_worker"]},
        "unit_kind": {"enum": ["department", "grid"]}, "unit_code": TEXT, "unit_name": TEXT,
        "signed": COUNT, "fed_back": COUNT, "concluded": COUNT, "resolved_on_site": COUNT,
        "on_time": COUNT, "late": COUNT, "on_time_rate": RATE,
        "display": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}  # fmt: skip
RECORD = {
    "type": "object",
    "required": ["record_id", "order_id", "case_id", "assignee", "person", "what", "decision",
                 "opened_by", "opened_at"],
    "properties": {
        "record_id": TEXT, "order_id": TEXT, "case_id": TEXT,
        "assignee": {"type": ["object", "null"]}, "person": TEXT, "what": TEXT,
        "decision": TEXT, "opened_by": TEXT, "opened_at": {"type": "string",
                                                           "format": "date-time"},
    },
    "additionalProperties": False,
}  # fmt: skip
RECORD_BODY = {
    "type": "object", "required": ["person", "what", "decision"],
    "properties": {"person": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"},
                   "what": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": r"\S"},
                   "decision": {"type": "string", "minLength": 1, "maxLength": 2000,
                                "pattern": r"\S"}},
}  # fmt: skip


def fairscore_paths(op: Any, json: Any, error: Any, query: Any, path: Any) -> dict[str, Any]:
    """The paths, made with ``openapi``'s own helpers (handed in: that module imports this)."""
    period = query("period", PERIOD, "2026, 2026-Q4, 2026-11 or 2026-11-21")
    return {
        "/api/v1/assessment/people": {"get": op("一单考评 per person (承办人, 网格员)", {
            "200": json("rows", {"type": "array", "items": PERSON_ROW}),
            "403": error("supervisors and administrators only"),
            "422": error("period: a year, quarter, month or day")},
            params=[period], tag="supervision")},
        "/api/v1/assessment/accountability": {"get": op("问责记录 opened in the period", {
            "200": json("records", {"type": "array", "items": RECORD}),
            "403": error("not for your role"),
            "422": error("period: a year, quarter, month or day")},
            params=[period], tag="supervision")},
        "/api/v1/orders/{order_id}/accountability": {"post": op(
            "问责记录 on a red card (红牌督办): who, what, the decision", {
                "201": json("the record", RECORD), "403": error("supervisors only"),
                "404": error("no such order"),
                "422": error("not a red card; or person, what, decision missing")},
            RECORD_BODY, params=[path("order_id")], tag="supervision")},
    }  # fmt: skip
