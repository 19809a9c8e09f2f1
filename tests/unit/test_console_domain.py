"""Console's pure rules: password hashes, signed bearer tokens, reach, the login throttle and
the client's address behind a proxy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest

from kit.settings import ConfigError, Settings
from services.console.config import load_trusted_proxies
from services.console.domain import (
    TOKEN_TTL_SECONDS,
    AuthError,
    Principal,
    client_address,
    hash_password,
    holds,
    in_reach,
    issue_token,
    locked_for,
    may,
    needs_rehash,
    read_token,
    shown_actions,
    trusted_networks,
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


def scrypt_hash(password: str, salt: bytes = SALT) -> str:
    """A hash as the first release stored them."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def test_hashes_are_argon2id_and_salted() -> None:
    first, second = hash_password("pw"), hash_password("pw")
    assert first.startswith("$argon2id$") and first != second
    assert not needs_rehash(first)


def test_verify_password() -> None:
    stored = hash_password("正确的密码")
    assert verify_password("正确的密码", stored) is True
    assert verify_password("错误的密码", stored) is False
    assert verify_password("", stored) is False
    assert verify_password("正确的密码 ", stored) is False


def test_first_release_scrypt_hashes_still_verify_and_ask_to_be_replaced() -> None:
    stored = scrypt_hash("admin")
    assert verify_password("admin", stored) is True
    assert verify_password("Admin", stored) is False
    assert needs_rehash(stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "scrypt$00",
        "scrypt$00$11$22",
        "scrypt$zz$" + "0" * 128,
        "bcrypt$" + scrypt_hash("pw").split("$", 1)[1],
        "$argon2id$v=19$m=65536,t=3,p=4$garbage",
    ],
)
def test_malformed_or_foreign_hashes_never_verify(stored: str) -> None:
    assert verify_password("pw", stored) is False


def test_tampered_digest_does_not_verify() -> None:
    stored = hash_password("pw")
    last = "A" if stored[-1] != "A" else "B"
    assert verify_password("pw", stored[:-1] + last) is False


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
    token = issue_token(SECRET, "u", "r", NOW, "D-HBJ")
    claims, signature = token.split(".")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", claims)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signature)  # 32 bytes, unpadded
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded == {"u": "u", "r": "r", "n": "D-HBJ", "e": int(NOW) + TOKEN_TTL_SECONDS}
    assert read_token(SECRET, token, NOW).unit == "D-HBJ"


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


# --- reach and roles -------------------------------------------------------------------------


CASE = {
    "case_id": "CF1", "assignee": {"kind": "department", "code": "D-HBJ", "name": "环保"},
    "helpers": [{"kind": "department", "code": "D-ZJJ", "name": "住建"}],
    "place": [{"code": "G-0101", "level": "grid"}, {"code": "C-01", "level": "community"},
              {"code": "S-001", "level": "street"}],
    "actions": ["accept", "return", "escalate"],
}  # fmt: skip


def who(role: str, unit: str | None = None) -> Principal:
    return Principal("u", role, 0, unit)


@pytest.mark.parametrize(
    ("principal", "sees"),
    [
        (who("admin"), True), (who("operator"), True),
        (who("handler", "D-HBJ"), True),  # the lead department
        (who("handler", "D-ZJJ"), True),  # a helper
        (who("handler", "D-GAJ"), False),  # another department
        (who("handler", "S-001"), False),  # a handler does not see by place
        (who("grid_worker", "G-0101"), True), (who("grid_worker", "G-0102"), False),
        (who("supervisor", "S-001"), True), (who("supervisor", "S-002"), False),
        (who("handler"), False),  # a unit role without a unit sees nothing
    ],
)  # fmt: skip
def test_reach_is_the_department_the_grid_or_the_unit_s_subtree(
    principal: Principal, sees: bool
) -> None:
    assert in_reach(principal, CASE) is sees


def test_a_user_sees_only_the_actions_their_role_allows() -> None:
    assert shown_actions(who("handler", "D-HBJ"), CASE)["actions"] == [
        "accept",
        "return",
        "escalate",
    ]
    assert shown_actions(who("operator"), CASE)["actions"] == ["return", "escalate"]
    assert shown_actions(who("supervisor", "S-001"), CASE)["actions"] == ["escalate", "supervise"]
    assert may(who("admin"), "supervise") and not may(who("operator"), "supervise")
    assert may(who("supervisor"), "assess") and not may(who("handler"), "assess")


def test_only_the_lead_unit_holds_the_case() -> None:
    assert holds(who("handler", "D-HBJ"), CASE)
    assert not holds(who("handler", "D-ZJJ"), CASE)  # a helper does not call the citizen
    assert not holds(who("admin"), CASE)


def test_five_failures_lock_for_the_rest_of_fifteen_minutes() -> None:
    assert locked_for(4, 1000.0, 1010.0) == 0.0
    assert locked_for(5, 1000.0, 1010.0) == 890.0
    assert locked_for(9, 1000.0, 1900.0) == 0.0  # the window is over


# --- the client behind a proxy -------------------------------------------------------------

PROXIES = trusted_networks("10.0.0.0/8, 192.0.2.1,2001:db8::/32")


def test_trusted_proxies_are_addresses_or_networks() -> None:
    assert [str(n) for n in PROXIES] == ["10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32"]
    assert trusted_networks("") == trusted_networks(" , ") == ()


def test_a_wrong_trusted_proxy_stops_the_console_naming_it() -> None:
    with pytest.raises(ValueError, match=re.escape("'proxy.local', '10.0.0.0/33'")):
        trusted_networks("10.0.0.1, proxy.local, 10.0.0.0/33")
    environ = {"CIVICFLOW_TRUSTED_PROXIES": "10.0.0.1,nonsense"}
    with pytest.raises(ConfigError, match=r"CIVICFLOW_TRUSTED_PROXIES: .*'nonsense'"):
        load_trusted_proxies(Settings(), environ)
    assert load_trusted_proxies(Settings(), {}) == ()


def test_a_forged_header_from_an_untrusted_peer_is_ignored() -> None:
    assert client_address("203.0.113.5", ["198.51.100.1"], PROXIES) == "203.0.113.5"
    assert client_address("203.0.113.5", ["198.51.100.1"], ()) == "203.0.113.5"


def test_behind_a_trusted_proxy_the_client_is_the_rightmost_untrusted_address() -> None:
    assert client_address("10.0.0.2", ["203.0.113.5"], PROXIES) == "203.0.113.5"
    # the client wrote the left part itself; the proxies appended what they saw
    forged = ["198.51.100.1, 203.0.113.5, 10.1.2.3", "192.0.2.1"]
    assert client_address("10.0.0.2", forged, PROXIES) == "203.0.113.5"
    assert client_address("10.0.0.2", ["2001:db8::1, 2001:DB8:0:0::aa, 198.51.100.9"],
                          PROXIES) == "198.51.100.9"  # fmt: skip
    assert client_address("2001:db8::7", ["2400:cb00::0001"], PROXIES) == "2400:cb00::1"


def test_entries_that_are_not_addresses_are_skipped() -> None:
    for header in (
        "203.0.113.5, unknown",
        "203.0.113.5,,",
        "203.0.113.5, 203.0.113.5:8080",
        "203.0.113.5, <script>, 10.0.0.9",
        "203.0.113.5, 999.1.1.1",
    ):
        assert client_address("10.0.0.2", [header], PROXIES) == "203.0.113.5", header
    assert client_address("10.0.0.2", ["garbage"], PROXIES) == "10.0.0.2"
    assert client_address("10.0.0.2", [], PROXIES) == "10.0.0.2"


def test_when_every_hop_is_trusted_the_leftmost_is_the_client() -> None:
    assert client_address("10.0.0.2", ["10.9.9.9, 10.0.0.3"], PROXIES) == "10.9.9.9"


def test_an_ipv4_peer_seen_through_ipv6_is_the_same_address() -> None:
    assert client_address("::ffff:10.0.0.2", ["203.0.113.5"], PROXIES) == "203.0.113.5"
    assert client_address("::ffff:203.0.113.5", [], PROXIES) == "203.0.113.5"


def test_only_a_supervisor_or_an_admin_decides_an_extension() -> None:
    """延期: a unit asks (``extend`` with ``until``); approving it is ``decide_extension``."""
    from contracts.actions import action_from
    from services.console import cases, domain
    from services.console.refusals import NotPermitted

    approve = action_from("extend", {"approve": True})
    ask = action_from("extend", {"until": "2026-12-31T00:00:00+08:00", "reason": "会商"})
    handler = domain.Principal("xf-1", "handler", 0, "D-XFJ")
    with pytest.raises(NotPermitted):
        cases.must_decide(handler, approve)
    cases.must_decide(handler, ask)  # asking is the unit's own
    for role in ("supervisor", "admin"):
        cases.must_decide(domain.Principal("s", role, 0, "S-001"), approve)
