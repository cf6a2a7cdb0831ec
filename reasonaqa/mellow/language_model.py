"""SmolLM2-135M as a transformers ``LlamaForCausalLM``, and its tokenizer; never downloads.

Sources: the SmolLM2-135M-Instruct GGUF bundled with the embedded backend (default), a local
Hugging Face folder, or a random model of SmolLM2's shape ("random") or a tiny one ("tiny").
Every random choice still uses the bundled tokenizer, so token ids mean the same everywhere.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from reasonaqa.config import smollm2_gguf_path
from reasonaqa.errors import InputError

END_OF_TEXT = "<|endoftext|>"

# SmolLM2-135M's published architecture (30 layers, 576 wide, 9/3 heads, tied embeddings).
SMOLLM2_135M = {
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_hidden_layers": 30,
    "num_attention_heads": 9,
    "num_key_value_heads": 3,
    "max_position_embeddings": 8192,
    "rms_norm_eps": 1e-5,
    "rope_theta": 100_000.0,
    "tie_word_embeddings": True,
}
TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": True,
}
RANDOM_SHAPES = {"random": SMOLLM2_135M, "tiny": TINY}


def _source(name: str) -> tuple[Path, dict[str, Any]]:
    """Folder and extra ``from_pretrained`` arguments for a GGUF or a local HF folder."""
    if name in ("gguf", *RANDOM_SHAPES):
        gguf = smollm2_gguf_path()
        return gguf.parent, {"gguf_file": gguf.name}
    folder = Path(name)
    if not (folder / "config.json").is_file():
        raise InputError(
            "model.language_model must be gguf, random, tiny or a local Hugging Face folder "
            "with config.json",
            file=folder,
            field="model.language_model",
        )
    return folder, {}


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    folder, extra = _source(name)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **extra)
    if tokenizer.convert_tokens_to_ids(END_OF_TEXT) is None:
        raise InputError(f"the tokenizer has no {END_OF_TEXT} token", file=folder)
    return tokenizer


def end_of_text_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """Mellow's separator and stop token (id 0 in SmolLM2)."""
    return int(tokenizer.convert_tokens_to_ids(END_OF_TEXT))


def load_language_model(name: str, tokenizer: PreTrainedTokenizerBase) -> LlamaForCausalLM:
    if name in RANDOM_SHAPES:
        config = LlamaConfig(
            vocab_size=len(tokenizer),
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=end_of_text_id(tokenizer),
            **RANDOM_SHAPES[name],
        )
        return LlamaForCausalLM(config)
    folder, extra = _source(name)
    model = LlamaForCausalLM.from_pretrained(
        str(folder), local_files_only=True, dtype="float32", **extra
    )
    # A dequantised GGUF keeps its quantizer; training and save_pretrained need it gone.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model
