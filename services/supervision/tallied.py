"""The figures 一单考评 counts per unit and day (``models.AssessmentDay`` has a column each)."""

from typing import Final

TALLIED: Final = (
    "dispatched", "returned", "concluded", "reopened", "revisited", "satisfied",
    "respond_on_time", "respond_late", "feedback_on_time", "feedback_late",
    "resolve_on_time", "resolve_late", "overdue", "orders_normal", "orders_yellow", "orders_red",
    "resolved_on_site",
)  # fmt: skip
