"""vLLM is an optional extra: reasonaqa imports without it and says how to install it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from reasonaqa.errors import InputError


def test_importing_the_backend_module_does_not_import_vllm() -> None:
    code = "import sys, reasonaqa.backends.vllm; sys.exit('vllm' in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_asking_for_the_backend_without_vllm_says_how_to_install_it() -> None:
    from reasonaqa.backends.vllm import VllmBackend

    with pytest.raises(InputError, match=r"pip install 'reasonaqa\[vllm\]'"):
        VllmBackend("some/model")


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_generate_with_the_vllm_backend_without_vllm_is_one_line_and_exit_2(
    tmp_path: Path, sample_manifest: Path
) -> None:
    command = [
        sys.executable, "-m", "reasonaqa", "generate", "--manifest", str(sample_manifest),
        "-o", str(tmp_path / "run"), "--backend", "vllm", "--model", "some/model", "--no-progress",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "pip install 'reasonaqa[vllm]'" in done.stderr
