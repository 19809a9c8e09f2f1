"""Every configuration error of the platform is one ``ConfigError``, so a service refusing to
start on a wrong file is told apart from any other failure; and keys.yml is read as a model
naming the file, the line and the field of a fault."""

from __future__ import annotations

from pathlib import Path

import pytest

import kernel.config
import kit.settings
from kernel.config import ConfigError, load_model
from kit.pii import KeysFile, read_keys
from services.dispatch.domain import RoutingConfigError
from services.intake.domain import SourcesConfigError
from services.intake.repeats import RepeatConfigError
from services.intake.risk import RiskConfigError
from services.notify.rules import RulesError
from services.supervision.assessment import AssessmentConfigError

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config"


def test_one_config_error_for_the_kernel_and_the_kit() -> None:
    assert kit.settings.ConfigError is kernel.config.ConfigError


@pytest.mark.parametrize(
    "error",
    [RoutingConfigError, SourcesConfigError, RepeatConfigError, RiskConfigError, RulesError,
     AssessmentConfigError],
)  # fmt: skip
def test_every_service_config_error_is_a_config_error(error: type[Exception]) -> None:
    assert issubclass(error, ConfigError)


def test_the_shipped_keys_load() -> None:
    keys = read_keys(CONFIG / "keys.yml")
    assert keys.phone_keys and keys.phone_hash_key.startswith("dev-")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("phone_keys: []\nphone_hash_key: x\n",
         r"^keys.yml line 1: phone_keys: List should have at least 1 item"),
        ("phone_keys:\n  - abc\nphone_hash_key: x\n",
         r"^keys.yml line 2: phone_keys\[0\]: not a Fernet key"),
        ("phone_keys:\n  - ZGV2LWNpdmljZmxvdy1waG9uZS1rZXktMzJieXRlcyE=\nphone_hash_key: ''\n",
         r"^keys.yml line 3: phone_hash_key: String should have at least 1 character"),
        ("phone_key: []\n", r"phone_key: Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_a_wrong_keys_file_is_refused_where_it_is_written(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_model(text, "keys.yml", KeysFile)


def test_a_missing_keys_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"keys\.yml: missing"):
        read_keys(tmp_path / "keys.yml")
