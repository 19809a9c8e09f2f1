"""Building blocks shared by every contract: strict models, cleaned text, phones, places."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

SCHEMA_VERSION = 1

Channel = Literal["hotline", "grid", "opinion", "petition"]
"""The four lines (四线): 12345 hotline, grid, public opinion, petition."""

RiskGrade = Literal["red", "yellow", "blue"]
"""红黄蓝 risk grades, red the most severe."""

CHANNELS: tuple[Channel, ...] = ("hotline", "grid", "opinion", "petition")

_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u200b-\u200f\u2028\u2029\u2060-\u2064\ufeff]"
)


def clean_text(value: object) -> object:
    """NFKC-normalise and strip control characters, so full-width digits and
    zero-width tricks cannot defeat duplicate detection or masking."""
    if not isinstance(value, str):
        return value
    # Strip before normalising too: a zero-width character between a letter and its
    # combining mark would otherwise keep them apart until a second pass.
    stripped = _CONTROL.sub("", value)
    return _CONTROL.sub("", unicodedata.normalize("NFKC", stripped)).strip()


Text = Annotated[str, BeforeValidator(clean_text)]
ShortText = Annotated[str, BeforeValidator(clean_text), Field(min_length=1, max_length=200)]
Identifier = Annotated[
    str, BeforeValidator(clean_text), Field(min_length=1, max_length=64, pattern=r"^[\w.:/-]+$")
]
Content = Annotated[str, BeforeValidator(clean_text), Field(min_length=1, max_length=4000)]

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^0[0-9]{9,11}$")


def normalise_phone(value: object) -> object:
    if not isinstance(value, str):
        return value
    digits = re.sub(r"[\s()-]", "", str(clean_text(value)))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits


def check_phone(value: str) -> str:
    if not (_MOBILE.match(value) or _LANDLINE.match(value)):
        raise ValueError("not a Chinese mobile or landline number")
    return value


Phone = Annotated[str, BeforeValidator(normalise_phone), AfterValidator(check_phone)]
"""A citizen's or staff member's number, digits only (+86 and separators removed)."""


def mask_phone(phone: str) -> str:
    """``13812341234`` → ``138****1234``: what events, logs and foreign eyes may see."""
    if len(phone) < 8:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_name(name: str) -> str:
    """``张三`` → ``张*``, ``欧阳娜娜`` → ``欧***``: a petitioner's name (信访人) as public events
    may show it, the family name kept for the reader to address them."""
    name = name.strip()
    return f"{name[:1]}{'*' * max(len(name) - 1, 1)}" if name else name


_PHONE_IN_TEXT = re.compile(r"(?<![0-9])(1[3-9][0-9])[- ]?([0-9]{4})[- ]?([0-9]{4})(?![0-9])")


def mask_phones_in(text: str) -> str:
    """Mobile numbers written into free text (``请回电13912345678``) masked like any other:
    the content travels in events and is stored by services that hold no key."""
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


MASKED_PHONE_PATTERN = r"^[0-9]{3}\*{4}[0-9]{4}$|^\*+$"
MaskedPhone = Annotated[str, Field(pattern=MASKED_PHONE_PATTERN)]


class Contract(BaseModel):
    """Everything that crosses a service boundary is immutable and refuses strangers."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_max_length=100_000)


class GeoPoint(Contract):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
