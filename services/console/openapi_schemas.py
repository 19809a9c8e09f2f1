"""The shapes of the console's answers that no pydantic model describes, as JSON Schema: the
tables ``services.console.openapi`` builds its document from."""

from __future__ import annotations

import copy
from typing import Any

from services.console import admin, domain

PHONE_PATTERN = r"^(?:\+86|0086)?(?:1[3-9][0-9]{9}|0[0-9]{9,11})$"
"""As intake documents it: the canonical form; separators and full-width digits are removed."""
SEGMENT = {"type": "string", "pattern": "^[^/]+$"}
"""A path segment: the routes match no slash within one."""
TEXT = {"type": "string"}
NULLABLE_TEXT = {"type": ["string", "null"]}
MOMENT = {"type": "string", "format": "date-time"}
LEVELS = ["micro_grid", "grid", "community", "street", "district"]
ERROR_ITEM = {
    "type": "object",
    "required": ["loc", "msg"],
    "properties": {
        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
        "msg": {"type": "string"},
        "type": {"type": "string"},
        "status": {"type": ["string", "null"], "description": "409: the case's status now"},
        "allowed_actions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "409: the actions its status allows now",
        },
        "file": {"type": "string", "description": "a refused configuration file's name"},
        "line": {"type": ["integer", "null"], "description": "the line at fault in that file"},
        "detail": {"type": "string", "description": "the validator's own words (English)"},
    },
    "additionalProperties": False,
}
ME: dict[str, Any] = {
    "type": "object",
    "required": ["username", "role", "unit", "display"],
    "properties": {
        "username": TEXT,
        "role": {"enum": list(domain.ROLES)},
        "unit": NULLABLE_TEXT,
        "display": TEXT,
    },
    "additionalProperties": False,
}


def new_user_body() -> dict[str, Any]:
    """What ``admin.new_user`` checks."""
    return {
        "type": "object",
        "required": ["username", "password", "role"],
        "properties": {
            "username": {"type": "string", "pattern": f"^{admin._USERNAME.pattern}$"},
            "password": {"type": "string", "minLength": admin.MIN_PASSWORD},
            "role": {"enum": list(domain.ROLES)},
            "unit": {"type": ["string", "null"], "description": "required for "
                     f"{', '.join(sorted(domain.UNIT_ROLES))}; ignored for the others"},
            "display": {"type": ["string", "null"], "maxLength": 64},
        },
        "if": {"properties": {"role": {"enum": sorted(domain.UNIT_ROLES)}}},
        "then": {"required": ["unit"], "properties": {"unit": {"type": "string", "minLength": 1}}},
    }  # fmt: skip


def subscription_body(schemas: dict[str, Any]) -> dict[str, Any]:
    """``SubscriptionRequest`` without ``subscriber`` (the console sets it to the user), with
    its validators' rules: sms needs a phone, wechat an openid; a scope ``all`` takes no
    value, the others one, ``risk`` a grade."""
    body: dict[str, Any] = copy.deepcopy(schemas.pop("SubscriptionRequest"))
    body["title"] = "NewSubscription"
    body["properties"].pop("subscriber")
    body["required"] = [name for name in body["required"] if name != "subscriber"]
    body["properties"]["phone"]["anyOf"][0]["pattern"] = PHONE_PATTERN
    body["allOf"] = [
        {"if": {"required": ["channels"],
                "properties": {"channels": {"contains": {"const": "sms"}}}},
         "then": {"required": ["phone"], "properties": {"phone": {"type": "string"}}}},
        {"if": {"required": ["channels"],
                "properties": {"channels": {"contains": {"const": "wechat"}}}},
         "then": {"required": ["wechat_openid"],
                  "properties": {"wechat_openid": {"type": "string"}}}},
    ]  # fmt: skip
    scope = schemas["SubscriptionScope"]
    scope["allOf"] = [
        {"if": {"not": {"required": ["kind"]}},
         "then": {"properties": {"value": {"type": "null"}}}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "all"}}},
         "then": {"properties": {"value": {"type": "null"}}},
         "else": {"required": ["value"],
                  "properties": {"value": {"type": "string", "minLength": 1}}}},
        {"if": {"required": ["kind"], "properties": {"kind": {"const": "risk"}}},
         "then": {"properties": {"value": {"enum": ["red", "yellow", "blue"]}}}},
    ]  # fmt: skip
    return body


ORDER = {
    "type": "object",
    "required": ["order_id", "case_id", "grade", "note", "issued_by", "issued_at", "due_at",
                 "assignee", "reply", "replied_by", "replied_at"],
    "properties": {
        "order_id": TEXT, "case_id": TEXT, "grade": {"enum": ["normal", "yellow", "red"]},
        "note": TEXT, "issued_by": TEXT, "issued_at": MOMENT, "due_at": MOMENT,
        "assignee": {"type": ["object", "null"]}, "reply": NULLABLE_TEXT,
        "replied_by": NULLABLE_TEXT, "replied_at": {"type": ["string", "null"],
                                                     "format": "date-time"},
    },
    "additionalProperties": False,
}  # fmt: skip
SUBSCRIPTION = {
    "type": "object",
    "required": ["subscription_id", "subscriber", "kinds", "scope", "channels", "phone",
                 "wechat", "queue", "created_at"],
    "properties": {
        "subscription_id": {"type": "integer"}, "subscriber": TEXT,
        "kinds": {"type": "array", "items": TEXT},
        "scope": {"type": "object", "required": ["kind", "value"],
                  "properties": {"kind": TEXT, "value": NULLABLE_TEXT}},
        "channels": {"type": "array", "items": TEXT},
        "phone": {"type": ["string", "null"], "description": "masked"},
        "wechat": {"type": "boolean"}, "queue": NULLABLE_TEXT, "created_at": MOMENT,
    },
    "additionalProperties": False,
}  # fmt: skip
COUNT = {"type": "integer", "minimum": 0}
RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
BOARD = {
    "type": "object",
    "required": ["units", "totals"],
    "properties": {
        "units": {"type": "array", "items": {
            "type": "object",
            "required": ["code", "name", "kind", "late", "red", "yellow", "blue", "cases"],
            "properties": {
                "code": TEXT, "name": TEXT, "kind": TEXT, "late": COUNT, "red": COUNT,
                "yellow": COUNT, "blue": COUNT,
                "cases": {"type": "array", "items": {
                    "type": "object", "required": ["case_id", "risk", "clock", "due_at", "status"],
                    "properties": {"case_id": TEXT, "risk": TEXT, "clock": TEXT,
                                   "due_at": MOMENT, "status": TEXT}}}}}},
        "totals": {"type": "object", "required": ["late", "red", "yellow", "blue"],
                   "additionalProperties": COUNT},
        "next": {"type": ["string", "null"],
                 "description": "the cursor of the next page of cases (after=)"},
    },
}  # fmt: skip
TREND = {"type": "array", "items": {"type": "object", "required": ["day"],
         "properties": {"day": {"type": "string", "format": "date"}, "received": COUNT,
                        "concluded": COUNT}}}  # fmt: skip
RANKED = {"type": "array", "items": {"type": "object", "required": ["code", "name", "count"],
          "properties": {"code": TEXT, "name": TEXT, "count": COUNT}}}  # fmt: skip
SCREEN = {
    "type": "object",
    "required": ["date", "received", "dispatched", "overdue", "escalated", "closed",
                 "satisfaction_rate"],
    "properties": {
        "date": {"type": "string", "format": "date"},
        "received": {"type": "object", "required": ["hotline", "grid", "opinion", "petition"],
                     "additionalProperties": COUNT},
        "dispatched": COUNT, "overdue": COUNT, "escalated": COUNT, "closed": COUNT,
        "satisfaction_rate": RATE,
        "received_at_desk": COUNT, "handled_at_desk": COUNT, "desk": COUNT,
        "trend_7": TREND, "trend_30": TREND, "categories": RANKED, "hot_streets": RANKED,
        "hot_grids": RANKED,
        "streets": {"type": "array", "items": {"type": "object",
                    "description": "a street's on-time rate and satisfaction, best first"}},
        "ticker": {"type": "array", "items": {"type": "object", "required": ["at", "kind"],
                   "properties": {"at": MOMENT, "kind": TEXT, "case_id": TEXT, "unit": TEXT,
                                  "detail": TEXT}}},
        "points": {"type": "array", "items": {"type": "object", "required": ["risk"],
                   "properties": {"lat": {"type": ["number", "null"]},
                                  "lon": {"type": ["number", "null"]}, "risk": TEXT}}},
    },
    "additionalProperties": False,
}  # fmt: skip
ASSESSMENT_ROW = {
    "type": "object",
    "required": ["assignee_kind", "assignee_code", "assignee_name", "dispatched", "score"],
    "properties": {
        "assignee_kind": {"enum": ["department", "grid"]}, "assignee_code": TEXT,
        "assignee_name": TEXT, "dispatched": COUNT, "respond_on_time_rate": RATE,
        "feedback_on_time_rate": RATE, "resolve_on_time_rate": RATE, "overdue": COUNT,
        "return_rate": {"type": "number", "minimum": 0},
        "reopen_rate": {"type": ["number", "null"]},
        "satisfaction_rate": RATE, "orders": COUNT, "yellow_cards": COUNT, "red_cards": COUNT,
        "score": {"type": "number"}, "resolved_on_site": COUNT,
    },
    "additionalProperties": False,
}  # fmt: skip
MAP = {
    "type": "object",
    "required": ["units", "cases"],
    "properties": {
        "units": {"type": "array", "items": {
            "type": "object", "required": ["code", "name", "level", "polygons"],
            "properties": {"code": TEXT, "name": TEXT, "level": {"enum": LEVELS},
                           "polygons": {"type": "array", "items": {"type": "array", "items": {
                               "type": "array", "items": {"type": "number"},
                               "minItems": 2, "maxItems": 2}}}}}},
        "cases": {"type": "array", "items": {
            "type": "object", "required": ["case_id", "lat", "lon", "risk", "status"],
            "properties": {"case_id": TEXT, "lat": {"type": "number"}, "lon": {"type": "number"},
                           "risk": TEXT, "status": TEXT}}},
    },
}  # fmt: skip
SOURCE = {
    "type": "object",
    "required": ["id", "name", "lines", "secret_set", "dev_secret"],
    "properties": {"id": TEXT, "name": TEXT, "lines": {"type": "array", "items": TEXT},
                   "secret_set": {"type": "boolean"}, "dev_secret": {"type": "boolean"}},
    "additionalProperties": False,
}  # fmt: skip
HEALTH = {
    "type": "object",
    "required": ["status", "service", "checks"],
    "properties": {"status": {"enum": ["ok", "degraded"]}, "service": TEXT,
                   "checks": {"type": "object", "additionalProperties": TEXT}},
}  # fmt: skip
