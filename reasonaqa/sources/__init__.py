"""Sources: the strict CSV reader and caption manifests (one row per clip) built from it."""
