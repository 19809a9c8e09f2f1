"""Settings read from the environment: what is taken and what is refused, with the reason."""

from __future__ import annotations

import pytest

from kit.settings import ConfigError, Settings


def test_the_heartbeat_defaults_to_thirty_seconds() -> None:
    assert Settings.from_env({}).amqp_heartbeat == 30.0


def test_a_heartbeat_of_five_seconds_or_more_is_taken() -> None:
    assert Settings.from_env({"CIVICFLOW_AMQP_HEARTBEAT": "5"}).amqp_heartbeat == 5.0


@pytest.mark.parametrize(
    ("value", "reason"),
    [("2", "at least 5 seconds"), ("0", "at least 5 seconds"), ("soon", "not a number")],
)
def test_a_heartbeat_the_consumer_loop_cannot_keep_is_refused(value: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        Settings.from_env({"CIVICFLOW_AMQP_HEARTBEAT": value})
