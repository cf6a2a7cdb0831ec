"""Storage: atomic writes, Parquet shards, the run-folder layout, publishing a folder whole."""
