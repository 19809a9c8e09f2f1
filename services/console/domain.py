"""Staff identity: password hashes and signed bearer tokens, free of I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

TOKEN_TTL_SECONDS = 8 * 3600


class AuthError(Exception):
    """Wrong credentials, or a token that is forged, malformed or expired."""


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, _ = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(
        hash_password(password, salt).encode(), stored.encode()
    )


@dataclass(frozen=True)
class Principal:
    user: str
    role: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, user: str, role: str, now: float) -> str:
    claims = _b64(json.dumps({"u": user, "r": role, "e": int(now) + TOKEN_TTL_SECONDS}).encode())
    signature = _b64(hmac.new(secret.encode(), claims.encode(), hashlib.sha256).digest())
    return f"{claims}.{signature}"


def read_token(secret: str, token: str, now: float) -> Principal:
    claims, _, signature = token.partition(".")
    expected = _b64(hmac.new(secret.encode(), claims.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise AuthError("invalid token")
    try:
        data = json.loads(_unb64(claims))
        principal = Principal(str(data["u"]), str(data["r"]), int(data["e"]))
    except (ValueError, KeyError, TypeError):
        raise AuthError("invalid token") from None
    if principal.expires < now:
        raise AuthError("token expired")
    return principal
