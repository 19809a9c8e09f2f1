"""A citizen's number as a search key: normalised the one way every service agrees on, and
turned into a keyed blind index (HMAC-SHA256) so that it can be looked up without being
stored or compared in plain text (号码盲索引). Pure: the key is handed in."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

_SEPARATORS = re.compile(r"[\s\-().\u00a0\u3000]")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^0[0-9]{9,11}$")


class NotAPhoneNumber(ValueError):
    """What was given cannot be a full Chinese mobile or landline number."""


def normalise(number: str) -> str:
    """``+86 138-1234-5678``, ``0086 13812345678``, ``１３８１２３４５６７８`` → ``13812345678``:
    full-width digits folded, spaces, dashes, dots and brackets dropped, the country prefix
    (+86, 0086, or 86 before a mobile number) taken off. A landline keeps its leading 0.
    Anything that is not then a full mobile or landline number is refused."""
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", number))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86") and _MOBILE.match(digits[2:]):
        digits = digits[2:]
    if not (_MOBILE.match(digits) or _LANDLINE.match(digits)):
        raise NotAPhoneNumber("not a full Chinese mobile or landline number")
    return digits


def blind_index(key: str, number: str) -> str:
    """The keyed blind index of a number: HMAC-SHA256 under ``key`` of its normal form, in hex.
    The same number however written gives the same index; without the key, nothing can be
    told from it."""
    if not key:
        raise ValueError("the blind index needs a key")
    return hmac.new(key.encode(), normalise(number).encode(), hashlib.sha256).hexdigest()
