"""The one catalogue of everything that crosses a service boundary: inbound payloads,
events and RPC payloads. Import from here."""

from contracts.common import SCHEMA_VERSION, Channel, RiskGrade, mask_phone
from contracts.events import CATALOGUE, PUBLIC_EXCHANGE, PUBLIC_TYPES, Envelope, EventSpec

__all__ = [
    "CATALOGUE",
    "PUBLIC_EXCHANGE",
    "PUBLIC_TYPES",
    "SCHEMA_VERSION",
    "Channel",
    "Envelope",
    "EventSpec",
    "RiskGrade",
    "mask_phone",
]
