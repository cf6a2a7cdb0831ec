"""Public checkpoint layouts load into our HTSAT and Mellow with no missing keys.

The synthetic checkpoints are written the way their publishers wrote them: a Lightning
checkpoint whose ``state_dict`` keys carry ``sed_model.``, and Mellow's module tree.
A few key names and shapes are pinned from the public HTSAT code, so a rename here fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from reasonaqa.errors import InputError
from reasonaqa.mellow.checkpoints import load_htsat_audioset, load_mellow, read_state_dict
from reasonaqa.mellow.config import ModelConfig
from reasonaqa.mellow.htsat import HTSAT, HTSATConfig
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.model import build_mellow

pytest.importorskip("transformers")

# (name, shape) as they appear in HTSAT_AudioSet_Saved_1.ckpt after the `sed_model.` prefix.
PUBLISHED_HTSAT_KEYS = {
    "spectrogram_extractor.stft.conv_real.weight": (513, 1, 1024),
    "spectrogram_extractor.stft.conv_imag.weight": (513, 1, 1024),
    "logmel_extractor.melW": (513, 64),
    "bn0.running_mean": (64,),
    "patch_embed.proj.weight": (96, 1, 4, 4),
    "patch_embed.norm.weight": (96,),
    "layers.0.blocks.0.attn.relative_position_bias_table": (225, 4),
    "layers.0.blocks.0.attn.relative_position_index": (64, 64),
    "layers.0.blocks.1.attn_mask": (64, 64, 64),
    "layers.0.blocks.1.attn.qkv.weight": (288, 96),
    "layers.0.blocks.1.mlp.fc2.weight": (96, 384),
    "layers.0.downsample.reduction.weight": (192, 384),
    "layers.0.downsample.norm.weight": (384,),
    "layers.2.blocks.5.norm2.bias": (384,),
    "layers.3.blocks.1.attn.relative_position_bias_table": (225, 32),
    "norm.weight": (768,),
    "tscam_conv.weight": (527, 768, 2, 3),
    "head.weight": (527, 527),
}


def tiny_model():
    config = ModelConfig(size="tiny", language_model="tiny")
    return build_mellow(config, load_tokenizer("tiny"))


def test_full_htsat_has_the_published_names_and_shapes() -> None:
    state = HTSAT(HTSATConfig()).state_dict()
    for name, shape in PUBLISHED_HTSAT_KEYS.items():
        assert name in state, name
        assert tuple(state[name].shape) == shape, name
    assert "layers.3.blocks.1.attn_mask" not in state  # 8x8 map: the last stage never shifts
    assert sum(name.startswith("layers.") for name in state) > 150


def test_audioset_lightning_checkpoint_loads_completely(tmp_path: Path) -> None:
    model = tiny_model()
    source = HTSAT(HTSATConfig.tiny())
    lightning = {
        "epoch": 42,
        "global_step": 10,
        "state_dict": {f"sed_model.{k}": v for k, v in source.state_dict().items()},
    }
    path = tmp_path / "HTSAT_AudioSet_Saved_1.ckpt"
    torch.save(lightning, path)
    report = load_htsat_audioset(model, path)
    assert report.complete and not report.unexpected, report.describe()
    assert "Every weight matched" in report.describe()
    loaded = model.audio_encoder.base.htsat.state_dict()
    for name, tensor in source.state_dict().items():
        torch.testing.assert_close(loaded[name], tensor, msg=name)


def test_mellow_released_layout_loads_completely(tmp_path: Path) -> None:
    source = tiny_model()
    state = {f"module.{k}": v for k, v in source.state_dict().items()}  # saved from DDP
    assert any(k.startswith("module.audio_encoder.base.htsat.") for k in state)
    assert any(k.startswith("module.audio_encoder.base.c2l.") for k in state)
    assert any(k.startswith("module.audio_encoder.projection.linear1") for k in state)
    assert any(k.startswith("module.caption_decoder.lm.model.embed_tokens") for k in state)
    path = tmp_path / "mellow.ckpt"
    torch.save({"state_dict": state}, path)
    target = tiny_model()
    report = load_mellow(target, path)
    assert report.complete and not report.unexpected, report.describe()
    for name, tensor in source.state_dict().items():
        torch.testing.assert_close(target.state_dict()[name], tensor, msg=name)


def test_partial_checkpoint_is_reported_in_plain_words(tmp_path: Path) -> None:
    model = tiny_model()
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("c2l.weight")}
    state["audio_encoder.projection.linear1.weight"] = torch.zeros(3, 3)
    state["audio_encoder.extra.weight"] = torch.zeros(1)
    path = tmp_path / "partial.pt"
    torch.save({"model": state}, path)
    report = load_mellow(model, path)
    text = report.describe()
    assert not report.complete
    assert "1 weights of the model were not in the file" in text and "c2l.weight" in text
    assert "different shape" in text and "linear1.weight (file (3, 3)" in text
    assert "match no weight of the model" in text and "audio_encoder.extra.weight" in text


def test_wrong_files_fail_with_one_line(tmp_path: Path) -> None:
    model = tiny_model()
    path = tmp_path / "other.pt"
    torch.save({"state_dict": {"encoder.weight": torch.zeros(2)}}, path)
    with pytest.raises(InputError, match="not the AudioSet HTSAT checkpoint"):
        load_htsat_audioset(model, path)
    with pytest.raises(InputError, match="not a Mellow checkpoint"):
        load_mellow(model, path)
    with pytest.raises(InputError, match="checkpoint not found"):
        read_state_dict(tmp_path / "missing.ckpt")


def test_pickled_objects_need_trust(tmp_path: Path) -> None:
    path = tmp_path / "pickled.ckpt"
    torch.save({"state_dict": {"sed_model.x": torch.zeros(1)}, "hyper": Path("x")}, path)
    with pytest.raises(InputError, match="trust_checkpoints"):
        read_state_dict(path)
    assert set(read_state_dict(path, trust=True)) == {"sed_model.x"}
