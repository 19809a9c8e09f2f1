"""What the SMS adapters read off the wire the same way: provider messages fit for a log, JSON
objects that may not be, and the text fields of a callback item."""

from __future__ import annotations

import json
from collections.abc import Mapping

from contracts.common import mask_phones_in


def scrub(text: object) -> str:
    """A provider message fit for logs and delivery records: numbers masked, length capped."""
    if not isinstance(text, str):
        return ""
    return mask_phones_in(text)[:200]


def json_object(content: bytes) -> dict[str, object] | None:
    """The answer as a JSON object, or None when it is not one (a proxy's error page)."""
    try:
        data: object = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    return {str(key): value for key, value in data.items()}


def text_field(item: Mapping[str, object], name: str, where: str, *, required: bool = True) -> str:
    """A callback item's field as text (numbers accepted as the providers send some)."""
    value = item.get(name)
    if value is None:
        if required:
            raise ValueError(f"{where}: missing {name!r}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"{where}: {name!r} is not a string")
    text = str(value)
    if required and not text:
        raise ValueError(f"{where}: {name!r} is empty")
    return text
