"""The bundled Mellow trainer: HTSAT audio encoder + projection + SmolLM2, trained on our shards."""
