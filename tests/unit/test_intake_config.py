"""Intake's configuration files (sources.yml, risk.yml, intake.yml) read as pydantic models:
the shipped files load, and a fault is refused naming the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernel.config import ConfigError
from services.intake.domain import SourceRegistry, SourcesConfigError
from services.intake.repeats import RepeatConfigError, RepeatPolicy
from services.intake.risk import RiskConfigError, RiskRules

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "config"


def test_every_intake_config_error_is_a_config_error() -> None:
    for error in (SourcesConfigError, RiskConfigError, RepeatConfigError):
        assert issubclass(error, ConfigError)


def test_the_shipped_files_load() -> None:
    sources = SourceRegistry.from_file(CONFIG / "sources.yml", {})
    assert "hotline" in sources and sources.get("hotline") is not None
    assert {rule.name for rule in RiskRules.from_file(CONFIG / "risk.yml").rules} >= {
        "self_harm",
        "mass_gathering",
    }
    assert RepeatPolicy.from_file(CONFIG / "intake.yml").max_linked == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sources:\n  a:\n    secret: s\n    channels: [fax]\n",
         r"^sources.yml line 4: sources\.a\.channels\[0\]: Input should be 'hotline'"),
        ("sources:\n  a:\n    secret: s\n    colour: red\n",
         r"^sources.yml line 4: sources\.a\.colour: Extra inputs are not permitted"),
        ("sources:\n  a:\n    name: x\n", r"^sources.yml: source 'a' has no secret"),
    ],
)  # fmt: skip
def test_a_wrong_source_is_refused_where_it_is_written(text: str, message: str) -> None:
    with pytest.raises(SourcesConfigError, match=message):
        SourceRegistry.from_text(text, {})


def test_nothing_registered_is_an_empty_registry() -> None:
    for text in ("", "sources:\n"):
        assert "hotline" not in SourceRegistry.from_text(text, {})


RULE = "rules:\n  - name: a\n    grade: red\n    keywords: [x]\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (RULE + "  - name: a\n    grade: blue\n    urgent: true\n",
         r"^risk.yml line 5: rules\[1\]\.name: 'a' repeats$"),
        ("rules:\n  - name: a\n    grade: purple\n    keywords: [x]\n",
         r"^risk.yml line 3: rules\[0\]\.grade: Input should be 'red', 'yellow' or 'blue'$"),
        ("rules:\n  - name: a\n    grade: red\n",
         r"^risk.yml line 2: rules\[0\]: has no condition, so it would fire on everything$"),
        ("rules:\n  - name: a\n    grade: red\n    heat_at_least: -1\n",
         r"^risk.yml line 4: rules\[0\]\.heat_at_least: Input should be greater than or equal"),
        ("rules:\n  - name: a\n    grade: red\n    urgent: yes please\n",
         r"^risk.yml line 4: rules\[0\]\.urgent: Input should be a valid boolean$"),
        (RULE + "  - name: b\n    grade: red\n    colour: x\n",
         r"^risk.yml line 7: rules\[1\]\.colour: Extra inputs are not permitted$"),
        ("rulez: []\n", r"^risk.yml line 1: rules: Field required"),
    ],
)  # fmt: skip
def test_a_wrong_risk_rule_is_refused_where_it_is_written(text: str, message: str) -> None:
    with pytest.raises(RiskConfigError, match=message):
        RiskRules.from_text(text)


def test_a_risk_rule_fires_as_written() -> None:
    from services.intake.risk import RiskFacts

    rules = RiskRules.from_text(RULE + "  - name: loud\n    grade: yellow\n    urgent: true\n")
    assessed = rules.assess(RiskFacts(channel="hotline", content="x", urgent=True))
    assert (assessed.grade, assessed.rules) == ("red", ("a", "loud"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("repeat:\n  window: 90\n",
         r"^intake.yml line 2: repeat\.window: 90 is not an ISO 8601 duration like PT2H or P5D$"),
        ("repeat:\n  window: P0D\n", r"^intake.yml line 2: repeat\.window: must be positive$"),
        ("repeat:\n  similarity: 101\n",
         r"^intake.yml line 2: repeat\.similarity: Input should be less than or equal to 100$"),
        ("repeat:\n  max_linked: true\n",
         r"^intake.yml line 2: repeat\.max_linked: Input should be a valid integer$"),
        ("repeats:\n  max_linked: 2\n", r"^intake.yml line 1: repeats: Extra inputs"),
    ],
)  # fmt: skip
def test_a_wrong_repeat_policy_is_refused_where_it_is_written(text: str, message: str) -> None:
    with pytest.raises(RepeatConfigError, match=message):
        RepeatPolicy.from_text(text)


def test_an_empty_intake_file_is_the_default_policy() -> None:
    assert RepeatPolicy.from_text("") == RepeatPolicy.from_text("repeat:\n") == RepeatPolicy()
