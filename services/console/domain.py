"""Staff identity and reach: password hashes, signed bearer tokens, roles and the cases each
may see and act on. Free of I/O."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from contracts.actions import ACTION_MODELS

TOKEN_TTL_SECONDS = 8 * 3600


class AuthError(Exception):
    """Wrong credentials, or a token that is forged, malformed or expired."""


_HASHER = PasswordHasher()
"""argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile)."""


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """argon2id; hashes of the first release (scrypt) are still accepted, see ``needs_rehash``."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """A hash to replace at the next good login: scrypt, or argon2 with weaker parameters."""
    return stored.startswith("scrypt$") or _HASHER.check_needs_rehash(stored)


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return hmac.compare_digest(digest.hex(), digest_hex)


@dataclass(frozen=True)
class Principal:
    user: str
    role: str
    expires: int
    unit: str | None = None
    version: int = 0
    """The user's token version when the token was issued (``still_valid``)."""
    token_id: str | None = None
    """The token's own id: the one a password change keeps."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(
    secret: str, user: str, role: str, now: float, unit: str | None = None,
    version: int = 0, token_id: str | None = None,
) -> str:  # fmt: skip
    payload: dict[str, Any] = {"u": user, "r": role, "n": unit, "e": int(now) + TOKEN_TTL_SECONDS}
    if version or token_id:
        payload |= {"v": version, "i": token_id}
    claims = _b64(json.dumps(payload).encode())
    signature = _b64(hmac.new(secret.encode(), claims.encode(), hashlib.sha256).digest())
    return f"{claims}.{signature}"


def read_token(secret: str, token: str, now: float) -> Principal:
    claims, _, signature = token.partition(".")
    expected = _b64(hmac.new(secret.encode(), claims.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(expected.encode(), signature.encode()):
        raise AuthError("invalid token")
    try:
        data = json.loads(_unb64(claims))
        principal = Principal(
            str(data["u"]), str(data["r"]), int(data["e"]), data.get("n"),
            int(data.get("v", 0)), data.get("i"),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError):
        raise AuthError("invalid token") from None
    if principal.expires < now:
        raise AuthError("token expired")
    return principal


def still_valid(principal: Principal, user: Any) -> bool:
    """Whether a genuine, unexpired token still counts: its user is there and it was issued
    under the user's present token version, or it is the one token a password change kept.
    Raising the version (a password change, signing out everywhere) revokes the others."""
    if user is None:
        return False
    if principal.version == (user.token_version or 0):
        return True
    return principal.token_id is not None and principal.token_id == user.kept_token


MIN_PASSWORD = 10


def password_problems(new: str, old: str, username: str) -> list[str]:
    """Why a new password is too weak (none: it will do), in the words the user reads."""
    problems = []
    if len(new) < MIN_PASSWORD:
        problems.append(f"新密码至少需要 {MIN_PASSWORD} 个字符")
    kinds = sum(
        (any(c.isalpha() for c in new), any(c.isdigit() for c in new),
         any(not c.isalnum() for c in new))
    )  # fmt: skip
    if kinds < 2:
        problems.append("新密码须包含字母、数字、符号中的至少两类")
    if username and username.lower() in new.lower():
        problems.append("新密码不能包含用户名")
    if new == old:
        problems.append("新密码不能与原密码相同")
    return problems


# --- roles and reach -------------------------------------------------------------------------

Role = Literal["operator", "handler", "grid_worker", "supervisor", "admin"]
ROLES: Final[tuple[Role, ...]] = ("operator", "handler", "grid_worker", "supervisor", "admin")
"""话务/派单员 (the centre's operators), 部门办理人, 网格员, 督查 (supervisors), 管理员."""

UNIT_ROLES: Final = frozenset({"handler", "grid_worker", "supervisor"})
"""Roles bound to a unit: a department, a grid, a unit whose subtree they supervise."""

ROLE_ACTIONS: Final[dict[str, frozenset[str]]] = {
    "operator": frozenset({"dispatch", "return", "verify", "revisit", "escalate", "merge",
                           "resolve_on_site", "assess", "review_return", "request_review",
                           "regrade"}),
    "handler": frozenset({"accept", "feedback", "conclude", "return", "extend", "escalate",
                          "appeal", "acknowledge", "answer"}),
    "grid_worker": frozenset({"accept", "feedback", "conclude", "return", "extend", "escalate",
                              "resolve_on_site", "appeal"}),
    "supervisor": frozenset({"extend", "decide_extension", "verify", "escalate", "supervise",
                             "assess", "subscribe", "review_return", "decide_appeal",
                             "assess_people", "hold_accountable", "regrade"}),
    "admin": frozenset({"dispatch", "accept", "feedback", "conclude", "return", "extend",
                        "decide_extension", "escalate", "verify", "revisit", "resolve_on_site",
                        "merge", "supervise", "assess", "subscribe", "review_return", "appeal",
                        "decide_appeal", "acknowledge", "answer", "request_review",
                        "assess_people", "hold_accountable", "regrade"}),
}  # fmt: skip
"""信访: the unit holding a petition acknowledges (受理告知) and answers it; the centre's
operators register a petitioner's request for 复查 / 复核."""
"""What each role may do: to a case within its reach (the lifecycle decides when), and
``review_return`` (退单审核) for the centre, ``appeal`` (不满意甄别) for the unit and its
decision for supervisors, as ``decide_extension`` (延期审批: ``extend`` with ``approve``);
``assess`` (一单考评), ``subscribe`` (alerts); ``assess_people`` (per-person figures) and
``hold_accountable`` (问责记录 on a red card) for supervisors and administrators only."""

LIFECYCLE_ACTIONS: Final = frozenset(ACTION_MODELS)
"""The actions dispatch carries out (``contracts.actions``); ``supervise`` goes to supervision."""


def sees_everything(principal: Principal) -> bool:
    return principal.role in ("operator", "admin")


def in_reach(principal: Principal, case: dict[str, Any]) -> bool:
    """Whether a user may see this case at all: outside their reach it does not exist (404)."""
    if sees_everything(principal):
        return True
    unit = principal.unit
    if unit is None:
        return False
    holders = [case.get("assignee") or {}, *case.get("helpers", [])]
    if any(h.get("code") == unit for h in holders):
        return True
    places = {p.get("code") for p in case.get("place", [])}
    return principal.role in ("grid_worker", "supervisor") and unit in places


def may(principal: Principal, action: str) -> bool:
    return action in ROLE_ACTIONS.get(principal.role, frozenset())


def shown_actions(principal: Principal, case: dict[str, Any]) -> dict[str, Any]:
    """The case as this user sees it: only the actions both the lifecycle and the role allow."""
    allowed = [a for a in case.get("actions", []) if may(principal, a)]
    if may(principal, "supervise"):
        allowed.append("supervise")
    return {**case, "actions": allowed}


def holds(principal: Principal, case: dict[str, Any]) -> bool:
    """The unit that must call the citizen: the lead unit holding the case."""
    return principal.role in ("handler", "grid_worker") and (
        (case.get("assignee") or {}).get("code") == principal.unit
    )


def user_view(user: Any) -> dict[str, Any]:
    """A user as the console shows them (never the password's hash)."""
    return {"username": user.username, "role": user.role, "unit": user.unit,
            "display": user.display or user.username}  # fmt: skip


# --- login throttling ----------------------------------------------------------------------

MAX_FAILURES: Final = 5
"""Per user: five wrong passwords lock the name."""
MAX_ADDRESS_FAILURES: Final = 20
"""Per address: higher, since a whole office may sit behind one address."""
FAILURE_WINDOW_SECONDS: Final = 900.0


def locked_for(failures: int, window_start: float, now: float, limit: int = MAX_FAILURES) -> float:
    """Seconds until another try is allowed: after ``limit`` failures within fifteen minutes,
    the rest of those fifteen minutes."""
    if now - window_start >= FAILURE_WINDOW_SECONDS or failures < limit:
        return 0.0
    return FAILURE_WINDOW_SECONDS - (now - window_start)


# --- who is asking, behind a proxy ---------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def trusted_networks(setting: str) -> tuple[Network, ...]:
    """``CIVICFLOW_TRUSTED_PROXIES``: addresses or networks, comma-separated. A wrong entry
    is refused rather than skipped: a proxy silently not trusted would throttle everyone
    behind it as one address."""
    networks: list[Network] = []
    wrong: list[str] = []
    for entry in (part.strip() for part in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            wrong.append(entry)
    if wrong:
        raise ValueError(f"not an IP address or network: {', '.join(map(repr, wrong))}")
    return tuple(networks)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]
) -> str | None:
    """The address a request comes from. ``X-Forwarded-For`` counts only when the peer is a
    trusted proxy, since anyone else can write anything there; then it is read from the right
    (each proxy appends the address it saw), past the trusted proxies, to the first address
    that is not one of them. Entries that are not addresses are skipped."""
    direct = _address(peer) if peer else None
    if direct is None or not _trusted(direct, trusted):
        return str(direct) if direct is not None else peer
    chain = [part for header in forwarded_for for part in header.split(",")]
    last_seen: Address = direct
    for entry in reversed(chain):
        address = _address(entry)
        if address is None:
            continue
        if not _trusted(address, trusted):
            return str(address)
        last_seen = address
    # every hop is trusted: the request began inside, at the leftmost of them
    return str(last_seen)
