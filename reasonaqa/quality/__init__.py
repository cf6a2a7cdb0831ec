"""Quality: per-item checks, answer balance, near-duplicates, reading second-pass verdicts."""
