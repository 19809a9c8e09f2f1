"""What a started service does to its heap."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from kit.runner import YOUNG_COLLECTION_THRESHOLD, settle_the_collector


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector")
def test_what_a_started_service_holds_is_kept_out_of_full_collections() -> None:
    held = {"kept": [object() for _ in range(1000)]}
    settle_the_collector()
    assert gc.get_freeze_count() >= 1000
    assert not any(held is tracked for tracked in gc.get_objects(generation=2))
    later = [object()]
    gc.collect(1)
    assert any(later is tracked for tracked in gc.get_objects(generation=2))


@pytest.mark.usefixtures("collector")
def test_young_objects_are_collected_less_often() -> None:
    settle_the_collector()
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD > 700
