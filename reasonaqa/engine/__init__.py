"""The generation engine: manifest → requests → LLM → validated rows → shards, resumable."""
