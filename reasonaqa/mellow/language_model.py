"""SmolLM2-135M as a transformers ``LlamaForCausalLM``, and its tokenizer; never downloads.

Sources: "auto" (the default: base SmolLM2-135M in ``models/SmolLM2-135M``, the authors'
starting point, else the bundled Instruct GGUF with a loud warning), "gguf" (the
SmolLM2-135M-Instruct Q4_1 GGUF bundled with the embedded backend, dequantised: for smoke
runs), a local Hugging Face folder, or a random model of SmolLM2's shape ("random") or a tiny
one ("tiny"). Every random choice still uses the bundled tokenizer, so token ids mean the
same everywhere. Its ids for the tokens the authors' format relies on (216, 17, 0) are
SmolLM2's; a whole-corpus comparison with an HF SmolLM2 tokenizer runs where one is present
(tests/mellow/test_mellow_tokens.py).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerBase

from reasonaqa.config import smollm2_gguf_path
from reasonaqa.errors import InputError
from reasonaqa.mellow.config import BASE_LM_FOLDER

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


GGUF_WARNING = (
    "WARNING: the language model is the bundled SmolLM2-135M-Instruct GGUF (Q4_1, "
    "dequantised), not base SmolLM2-135M in fp32 as the Mellow authors trained from. Use it "
    f"for smoke runs only; for real training put base SmolLM2-135M in {BASE_LM_FOLDER} or set "
    "model.language_model to its folder."
)


def resolve_language_model(name: str) -> str:
    """ "auto" becomes the base SmolLM2-135M folder when present, else "gguf"."""
    if name != "auto":
        return name
    return str(BASE_LM_FOLDER) if (BASE_LM_FOLDER / "config.json").is_file() else "gguf"


def start_up_warning(name: str) -> str | None:
    """The loud start-up line when training would start from the Instruct GGUF."""
    return GGUF_WARNING if resolve_language_model(name) == "gguf" else None


def _source(name: str) -> tuple[Path, dict[str, Any]]:
    """Folder and extra ``from_pretrained`` arguments for a GGUF or a local HF folder."""
    name = resolve_language_model(name)
    if name in ("gguf", *RANDOM_SHAPES):
        gguf = smollm2_gguf_path()
        return gguf.parent, {"gguf_file": gguf.name}
    folder = Path(name)
    if not (folder / "config.json").is_file():
        raise InputError(
            "model.language_model must be auto, gguf, random, tiny or a local Hugging Face "
            "folder with config.json (base SmolLM2-135M for real training)",
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


def space_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """The lone-space token (``Ġ``, id 216 in SmolLM2) that ends every reference text: the
    authors append ``' <|endoftext|>'``, and the space before the special token is its own
    token."""
    ids = tokenizer(" " + END_OF_TEXT, add_special_tokens=False)["input_ids"]
    return int(ids[0])


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
