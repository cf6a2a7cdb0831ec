"""Exports of a finished run's ``data/`` shards into the formats other tools read."""
