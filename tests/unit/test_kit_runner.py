"""What a started service does to its heap."""

from __future__ import annotations

import gc

from kit.runner import freeze_what_started


def test_what_a_started_service_holds_is_kept_out_of_full_collections() -> None:
    held = {"kept": [object() for _ in range(1000)]}
    try:
        freeze_what_started()
        assert gc.get_freeze_count() >= 1000
        assert not any(held is tracked for tracked in gc.get_objects(generation=2))
        later = [object()]
        gc.collect(1)
        assert any(later is tracked for tracked in gc.get_objects(generation=2))
    finally:
        gc.unfreeze()
