"""Every configuration error of the platform is one ``ConfigError``, so a service refusing to
start on a wrong file is told apart from any other failure; and keys.yml is read as a model
naming the file, the line and the field of a fault."""

from __future__ import annotations

from pathlib import Path

import pytest

import kernel.config
import kit.settings
from kernel.catalogue import CatalogueError
from kernel.config import ConfigError, load_model
from kernel.duty import DutyError
from kit.pii import KeysFile, read_keys
from kit.settings import Settings
from services.console import admin
from services.dispatch.domain import RoutingConfigError
from services.intake.domain import SourceRegistry, SourcesConfigError
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
     AssessmentConfigError, CatalogueError, DutyError],
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


def test_the_console_lists_the_shipped_sources_without_their_secrets() -> None:
    listed = admin.sources(Settings(config_dir=CONFIG))
    assert {"id": "hotline", "name": "12345 市民服务热线", "lines": ["hotline"],
            "secret_set": True, "dev_secret": True} in listed  # fmt: skip
    assert "dev-secret-hotline" not in repr(listed)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources:\n  a:\n    secret: s\n    channels: [fax]\n",
         r"^sources.yml line 4: sources\.a\.channels\[0\]: Input should be 'hotline'"),
        ("sources:\n  a:\n    secret: s\n    colour: red\n",
         r"^sources.yml line 4: sources\.a\.colour: Extra inputs are not permitted"),
        ("sources: [a]\n", r"^sources.yml line 1: sources: Input should be a valid dictionary"),
    ],
)  # fmt: skip
def test_a_wrong_sources_file_is_refused_alike_by_intake_and_the_console(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "sources.yml").write_text(text, encoding="utf-8")
    with pytest.raises(SourcesConfigError, match=message) as by_intake:
        SourceRegistry.from_file(tmp_path / "sources.yml", {})
    with pytest.raises(SourcesConfigError) as by_the_console:
        admin.sources(Settings(config_dir=tmp_path))
    assert str(by_the_console.value) == str(by_intake.value)


def test_a_missing_sources_file_is_named_by_the_console(tmp_path: Path) -> None:
    with pytest.raises(SourcesConfigError, match=r"sources\.yml: missing"):
        admin.sources(Settings(config_dir=tmp_path))
