"""No secret in the repository but marked dev values, and those refused in production."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kit.pii import load_vault
from kit.settings import ConfigError, Settings, secret
from services.console.config import load_token_secret
from services.notify.config import load_config as load_notify
from tests.unit.conftest import CONFIG_DIR

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = Settings(env="production", config_dir=CONFIG_DIR)
DEV = Settings(env="dev", config_dir=CONFIG_DIR)


def test_a_dev_value_stands_in_outside_production_only() -> None:
    assert secret(DEV, "X_SECRET", "dev-x", {}) == "dev-x"
    assert secret(PRODUCTION, "X_SECRET", "dev-x", {"X_SECRET": "real"}) == "real"
    with pytest.raises(ConfigError, match="X_SECRET is not set"):
        secret(PRODUCTION, "X_SECRET", "dev-x", {})
    with pytest.raises(ConfigError, match="holds the dev value"):
        secret(PRODUCTION, "X_SECRET", "dev-x", {"X_SECRET": "dev-x"})


def test_services_refuse_to_start_in_production_on_dev_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("CIVICFLOW_CONSOLE_SECRET", "CIVICFLOW_PHONE_KEYS", "CIVICFLOW_PHONE_HASH_KEY",
                 "CIVICFLOW_NOTIFY_CALLBACK_TOKEN"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="CIVICFLOW_CONSOLE_SECRET"):
        load_token_secret(PRODUCTION)
    with pytest.raises(ConfigError, match="dev keys"):
        load_vault(PRODUCTION, {})
    with pytest.raises(ConfigError):
        load_notify(PRODUCTION)


def test_the_repository_holds_no_secret_but_marked_dev_values() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.split()  # fmt: skip
    private_key = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
    texts = (".py", ".yml", ".yaml", ".json", ".toml", ".md", ".txt", ".sh", ".cfg", ".ini")
    found = [
        name for name in tracked
        if name.endswith(texts) and (REPO / name).is_file()
        and private_key.search((REPO / name).read_text(encoding="utf-8", errors="ignore"))
    ]  # fmt: skip
    assert found == []
    sources = (CONFIG_DIR / "sources.yml").read_text(encoding="utf-8")
    values = re.findall(r"^\s+(?:secret|api_key):\s*(\S+)", sources, re.MULTILINE)
    assert values and all(value.startswith("dev-") for value in values)
