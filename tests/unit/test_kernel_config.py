from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from kernel.config import ConfigError, load_model


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    start: str
    minutes: int = Field(gt=0)


class Hours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Literal["wall", "working"]
    windows: list[Window] = []


TEXT = """\
mode: working
windows:
  - start: "08:30"
    minutes: 210
  - start: "13:30"
    minutes: -5
"""


def test_a_good_file_is_read_as_its_model() -> None:
    hours = load_model(TEXT.replace("-5", "240"), "hours.yml", Hours)
    assert hours.windows[1] == Window(start="13:30", minutes=240)


def test_each_field_at_fault_is_named_with_its_file_and_line() -> None:
    bad = TEXT.replace("working", "sometimes").replace('start: "08:30"', 'begin: "08:30"')
    with pytest.raises(ConfigError) as refused:
        load_model(bad, "hours.yml", Hours)
    lines = str(refused.value).splitlines()
    assert any(line.startswith("hours.yml line 1: mode:") for line in lines), lines
    assert any(line.startswith("hours.yml line 3: windows[0].begin:") for line in lines), lines
    assert any(line.startswith("hours.yml line 6: windows[1].minutes:") for line in lines), lines


def test_a_key_given_twice_and_broken_yaml_are_refused_with_their_line() -> None:
    with pytest.raises(ConfigError, match=r"hours.yml line 2: mode: given twice"):
        load_model("mode: wall\nmode: working\n", "hours.yml", Hours)
    with pytest.raises(ConfigError, match=r"hours.yml line \d+: not valid YAML"):
        load_model("mode: [wall\n", "hours.yml", Hours)


def test_a_service_may_raise_its_own_kind_of_config_error() -> None:
    class RulesError(ConfigError):
        pass

    with pytest.raises(RulesError):
        load_model("mode: never\n", "rules.yml", Hours, RulesError)
