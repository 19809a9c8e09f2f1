"""接 — intake: where the four lines hand their matters over."""
