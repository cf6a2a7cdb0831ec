"""The full-size Mellow: 167M parameters, and one real training step on a batch of two."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reasonaqa.mellow.config import ModelConfig
from reasonaqa.mellow.language_model import load_language_model, load_tokenizer
from reasonaqa.mellow.model import build_mellow

pytest.importorskip("transformers")


@pytest.mark.slow
def test_full_size_model_counts_167m_and_trains_one_step() -> None:
    torch.manual_seed(0)
    model = build_mellow(ModelConfig(language_model="random"), load_tokenizer("random"))
    total = sum(p.numel() for p in model.parameters())
    htsat = sum(p.numel() for p in model.audio_encoder.base.htsat.parameters())
    lm = sum(p.numel() for p in model.lm.parameters())
    assert abs(total - 167_000_000) <= 1_000_000, total
    assert 28e6 < htsat < 32e6 and 134e6 < lm < 135e6
    assert not any(p.requires_grad for p in model.audio_encoder.base.htsat.parameters())

    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=1e-3, weight_decay=1e-4)
    wave = 0.1 * torch.randn(2, 320_000)
    prompt = torch.randint(1, 49_152, (2, 129))
    answer = torch.randint(1, 49_152, (2, 12))
    mask = torch.ones_like(answer, dtype=torch.bool)
    mask[1, 8:] = False
    before = model.audio_encoder.projection.linear1.weight.detach().clone()
    loss = model(wave, wave.flip(0), prompt, answer, mask)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable, 0.5)
    optimizer.step()
    assert torch.isfinite(loss) and 9.0 < loss.item() < 13.0  # about ln(49152) at random init
    assert not torch.equal(before, model.audio_encoder.projection.linear1.weight)


@pytest.mark.slow
def test_bundled_gguf_language_model_loads_and_speaks(tmp_path: Path) -> None:
    tokenizer = load_tokenizer("gguf")
    lm = load_language_model("gguf", tokenizer)
    assert lm.hf_quantizer is None and lm.config.num_hidden_layers == 30
    ids = tokenizer("The capital of France is", return_tensors="pt").input_ids
    out = lm.generate(ids, max_new_tokens=4, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, ids.shape[1] :])
    lm.save_pretrained(tmp_path)  # possible only once the GGUF quantizer is cleared
    assert (tmp_path / "config.json").is_file()
