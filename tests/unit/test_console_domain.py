"""Console's pure rules: password hashes and signed bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest

from services.console.domain import (
    TOKEN_TTL_SECONDS,
    AuthError,
    Principal,
    hash_password,
    issue_token,
    read_token,
    verify_password,
)

SECRET = "console-test-secret"
NOW = 1_772_330_400.75
SALT = bytes(range(16))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(claims: bytes | str, secret: str = SECRET) -> str:
    """A token whose signature is right for ``claims``: what only a key holder can make."""
    encoded = b64(claims.encode() if isinstance(claims, str) else claims)
    signature = b64(hmac.new(secret.encode(), encoded.encode(), hashlib.sha256).digest())
    return f"{encoded}.{signature}"


# --- passwords -----------------------------------------------------------------------------


def test_hash_format() -> None:
    stored = hash_password("s3cret", SALT)
    assert re.fullmatch(r"scrypt\$[0-9a-f]{32}\$[0-9a-f]{128}", stored)
    assert stored.split("$")[1] == SALT.hex()


def test_hash_is_scrypt_with_the_documented_parameters() -> None:
    digest = hashlib.scrypt(b"s3cret", salt=SALT, n=2**14, r=8, p=1)
    assert hash_password("s3cret", SALT) == f"scrypt${SALT.hex()}${digest.hex()}"


def test_hash_is_deterministic_with_a_salt_and_salted_without() -> None:
    assert hash_password("pw", SALT) == hash_password("pw", SALT)
    first, second = hash_password("pw"), hash_password("pw")
    assert first != second
    assert first.split("$")[1] != second.split("$")[1]


def test_verify_password() -> None:
    stored = hash_password("正确的密码")
    assert verify_password("正确的密码", stored) is True
    assert verify_password("错误的密码", stored) is False
    assert verify_password("", stored) is False
    assert verify_password("正确的密码 ", stored) is False


def test_verify_password_with_a_fixed_salt_hash() -> None:
    stored = hash_password("admin", SALT)
    assert verify_password("admin", stored) is True
    assert verify_password("Admin", stored) is False


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text",
        "scrypt$00",
        "scrypt$00$11$22",
        "md5$" + SALT.hex() + "$" + "0" * 128,
        "bcrypt$" + hash_password("pw", SALT).split("$", 1)[1],
    ],
)
def test_malformed_or_foreign_hashes_never_verify(stored: str) -> None:
    assert verify_password("pw", stored) is False


def test_tampered_digest_does_not_verify() -> None:
    stored = hash_password("pw", SALT)
    last = "1" if stored[-1] == "0" else "0"
    assert verify_password("pw", stored[:-1] + last) is False


def test_non_hex_salt_does_not_verify() -> None:
    assert verify_password("pw", "scrypt$zz$" + "0" * 128) is False


# --- tokens --------------------------------------------------------------------------------


def test_token_round_trip() -> None:
    token = issue_token(SECRET, "admin", "admin", NOW)
    principal = read_token(SECRET, token, NOW)
    assert principal == Principal(user="admin", role="admin", expires=int(NOW) + TOKEN_TTL_SECONDS)
    assert TOKEN_TTL_SECONDS == 8 * 3600


def test_token_carries_unicode_user_names() -> None:
    token = issue_token(SECRET, "网格员张三", "grid_worker", NOW)
    assert read_token(SECRET, token, NOW) == Principal(
        "网格员张三", "grid_worker", int(NOW) + TOKEN_TTL_SECONDS
    )


def test_token_shape() -> None:
    token = issue_token(SECRET, "u", "r", NOW)
    claims, signature = token.split(".")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", claims)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signature)  # 32 bytes, unpadded
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded == {"u": "u", "r": "r", "e": int(NOW) + TOKEN_TTL_SECONDS}


def test_token_is_valid_until_its_expiry_second() -> None:
    token = issue_token(SECRET, "u", "r", NOW)
    expires = int(NOW) + TOKEN_TTL_SECONDS
    assert read_token(SECRET, token, expires).expires == expires
    with pytest.raises(AuthError, match="expired"):
        read_token(SECRET, token, expires + 0.5)
    with pytest.raises(AuthError, match="expired"):
        read_token(SECRET, token, expires + 86400)


def test_token_signed_with_another_secret_is_refused() -> None:
    token = issue_token("another-secret", "admin", "admin", NOW)
    with pytest.raises(AuthError, match="invalid token"):
        read_token(SECRET, token, NOW)


def test_tampered_claims_are_refused() -> None:
    token = issue_token(SECRET, "operator", "operator", NOW)
    _, signature = token.split(".")
    elevated = b64(
        json.dumps({"u": "operator", "r": "admin", "e": int(NOW) + TOKEN_TTL_SECONDS}).encode()
    )
    with pytest.raises(AuthError, match="invalid token"):
        read_token(SECRET, f"{elevated}.{signature}", NOW)


def test_extended_expiry_is_refused() -> None:
    token = issue_token(SECRET, "u", "r", NOW)
    _, signature = token.split(".")
    longer = b64(json.dumps({"u": "u", "r": "r", "e": int(NOW) + 10 * 86400}).encode())
    with pytest.raises(AuthError):
        read_token(SECRET, f"{longer}.{signature}", NOW)


def test_tampered_signature_is_refused() -> None:
    token = issue_token(SECRET, "u", "r", NOW)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(AuthError, match="invalid token"):
        read_token(SECRET, flipped, NOW)
    with pytest.raises(AuthError, match="invalid token"):
        read_token(SECRET, token + "A", NOW)


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "abc", "abc.", ".abc", "a.b.c", "!!!.###", "Bearer x", "eyJ1IjoidSJ9.eyJ1IjoidSJ9"],
)
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(AuthError):
        read_token(SECRET, garbage, NOW)


@pytest.mark.parametrize(
    "claims",
    [
        b"not json",
        b"[]",
        b'"text"',
        b"{}",
        b'{"u": "x", "r": "y"}',
        b'{"u": "x", "e": 1}',
        b'{"u": "x", "r": "y", "e": "soon"}',
        b'{"u": "x", "r": "y", "e": null}',
        b"\xff\xfe",
    ],
    ids=[
        "not-json",
        "list",
        "string",
        "empty",
        "no-expiry",
        "no-role",
        "text-expiry",
        "null-expiry",
        "not-utf8",
    ],
)
def test_correctly_signed_but_malformed_claims_are_refused(claims: bytes) -> None:
    with pytest.raises(AuthError, match="invalid token"):
        read_token(SECRET, forge(claims), NOW)


def test_correctly_signed_claims_that_are_not_base64_are_refused() -> None:
    claims = "@@@@"
    signature = b64(hmac.new(SECRET.encode(), claims.encode(), hashlib.sha256).digest())
    with pytest.raises(AuthError, match="invalid token"):
        read_token(SECRET, f"{claims}.{signature}", NOW)


def test_forged_claims_with_the_right_key_are_accepted() -> None:
    # The signature is the only thing that makes a token: check the forge helper is faithful.
    token = forge(json.dumps({"u": "x", "r": "y", "e": int(NOW) + 60}))
    assert read_token(SECRET, token, NOW) == Principal("x", "y", int(NOW) + 60)


def test_non_ascii_garbage_is_refused_as_auth_error() -> None:
    with pytest.raises(AuthError):
        read_token(SECRET, "abc.é", NOW)
