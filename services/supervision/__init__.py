"""督办 — supervision: the clocks behind the 2-hour / 24-hour promise, and accountability."""
