"""转见办结访 — dispatch: routes every case and owns its lifecycle."""
