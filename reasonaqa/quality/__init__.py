"""Quality controls: deterministic checks, answer balance, duplicates, second passes, report."""
