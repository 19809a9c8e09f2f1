"""Phone numbers at rest: sealed (encrypted) for whoever must call back, fingerprinted (keyed
hash) for lookups, masked everywhere else.

Fernet keys come from ``CIVICFLOW_PHONE_KEYS`` (comma-separated, newest first: older keys still
open what they sealed, which is how a key is rotated) and the fingerprint key from
``CIVICFLOW_PHONE_HASH_KEY``; without them the dev values of ``deploy/config/keys.yml`` are
used, which production refuses.

The blind index a number is searched by (``kernel.phones.blind_index``) has a key of its own,
``CIVICFLOW_PHONE_INDEX_KEY`` (dev: ``phone_index_key`` of ``keys.yml``): intake stores the
index of each submission's number, the console computes it from the number searched for.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from kernel.config import load_model
from kit.settings import ConfigError, Settings

DEV_MARKER = "dev-"


class SealBroken(Exception):
    """A sealed value could not be opened with any known key."""


class PhoneVault:
    def __init__(self, keys: tuple[str, ...], hash_key: str) -> None:
        if not keys:
            raise ConfigError("phone vault: at least one encryption key is needed")
        self.keys = keys
        self.hash_key = hash_key
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, phone: str) -> str:
        token: bytes = self._fernet.encrypt(phone.encode())
        return token.decode()

    def open(self, sealed: str) -> str:
        try:
            plain: bytes = self._fernet.decrypt(sealed.encode())
        except InvalidToken:
            raise SealBroken("no key opens this value") from None
        return plain.decode()

    def reseal(self, sealed: str) -> str:
        """Seal again under the newest key (key rotation)."""
        try:
            token: bytes = self._fernet.rotate(sealed.encode())
        except InvalidToken:
            raise SealBroken("no key opens this value") from None
        return token.decode()

    def fingerprint(self, phone: str) -> str:
        """The same number always gives the same fingerprint; without the key, none."""
        return hmac.new(self.hash_key.encode(), phone.encode(), hashlib.sha256).hexdigest()


def _fernet_key(key: str) -> str:
    try:
        Fernet(key.encode())
    except ValueError:
        raise PydanticCustomError(
            "fernet_key", "not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None
    return key


class KeysFile(BaseModel):
    """``keys.yml``: the dev keys, newest first; production takes them from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    phone_keys: list[Annotated[str, AfterValidator(_fernet_key)]] = Field(min_length=1)
    phone_hash_key: str = Field(min_length=1)
    phone_index_key: str | None = Field(default=None, min_length=1)
    """The key of the numbers' blind index (phone search)."""


def load_vault(settings: Settings, environ: Mapping[str, str] | None = None) -> PhoneVault:
    env = os.environ if environ is None else environ
    keys_env = env.get("CIVICFLOW_PHONE_KEYS", "")
    hash_env = env.get("CIVICFLOW_PHONE_HASH_KEY", "")
    if keys_env and hash_env:
        vault = PhoneVault(tuple(k.strip() for k in keys_env.split(",") if k.strip()), hash_env)
    else:
        keys = read_keys(settings.config_dir / "keys.yml")
        vault = PhoneVault(tuple(keys.phone_keys), keys.phone_hash_key)
        if not settings.is_dev:
            raise ConfigError(
                "keys.yml holds dev keys; set CIVICFLOW_PHONE_KEYS and CIVICFLOW_PHONE_HASH_KEY"
            )
    if not vault.hash_key:
        raise ConfigError("phone vault: the fingerprint key is empty")
    return vault


PHONE_INDEX_KEY = "CIVICFLOW_PHONE_INDEX_KEY"


def load_phone_index_key(settings: Settings, environ: Mapping[str, str] | None = None) -> str:
    """The key of the numbers' blind index: ``CIVICFLOW_PHONE_INDEX_KEY``; outside production
    the dev value of ``keys.yml`` stands in, which production refuses."""
    value = (os.environ if environ is None else environ).get(PHONE_INDEX_KEY, "")
    if value:
        if not settings.is_dev and value.startswith(DEV_MARKER):
            raise ConfigError(f"{PHONE_INDEX_KEY} holds a dev value; set a real one in production")
        return value
    if not settings.is_dev:
        raise ConfigError(f"{PHONE_INDEX_KEY} is not set; production needs a real key")
    dev_value = read_keys(settings.config_dir / "keys.yml").phone_index_key
    if not dev_value:
        raise ConfigError(f"keys.yml: phone_index_key is missing; or set {PHONE_INDEX_KEY}")
    return dev_value


def read_keys(path: Path) -> KeysFile:
    """``keys.yml``: a fault is refused naming the file, the line and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing") from None
    return load_model(text, path.name, KeysFile)
