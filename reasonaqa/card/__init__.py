"""The dataset card: statistics over the shards, the report, and its plots."""
