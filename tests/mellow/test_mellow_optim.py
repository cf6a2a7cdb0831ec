"""The reference optimisation: per-epoch cosine, per-tensor adaptive clipping, HTSAT in train
mode with frozen weights; and the profiles that choose between ours and theirs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from reasonaqa.mellow.clipping import AdaptiveClipper
from reasonaqa.mellow.config import MellowConfig, ModelConfig, OptimConfig, load_config
from reasonaqa.mellow.schedules import lr_factor
from reasonaqa.mellow.specaugment import SpecAugment

pytest.importorskip("transformers")


def lrs(config: OptimConfig, steps_per_epoch: int, epochs: int, total: int) -> list[float]:
    """The rate each optimizer step uses, through torch's LambdaLR as training runs it."""
    param = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_factor(config, steps_per_epoch, epochs, total)
    )
    used = []
    for _ in range(total):
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return used


def test_reference_lr_is_per_epoch_cosine_without_warmup() -> None:
    used = lrs(OptimConfig(lr=1e-3), steps_per_epoch=3, epochs=2, total=6)
    # CosineAnnealingLR(T_max=2) stepped per epoch: 1e-3 through epoch 0, 0.5e-3 in epoch 1.
    assert used == pytest.approx([1e-3] * 3 + [0.5e-3] * 3)
    four = lrs(OptimConfig(lr=1.0), steps_per_epoch=2, epochs=4, total=8)
    expected = [0.5 * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert four == pytest.approx([v for v in expected for _ in range(2)])


def test_fast_profile_warms_up_then_cosine_per_step() -> None:
    config = OptimConfig(lr=1.0, schedule="warmup_cosine", warmup_steps=2)
    used = lrs(config, steps_per_epoch=3, epochs=2, total=6)
    assert used[:2] == pytest.approx([0.5, 1.0]) and used[2] == pytest.approx(1.0)
    assert used[3] > used[4] > used[5] > 0


def test_adaptive_clip_per_tensor_on_a_constructed_gradient() -> None:
    big = nn.Parameter(torch.zeros(4))
    small = nn.Parameter(torch.zeros(2))
    frozen = nn.Parameter(torch.zeros(1), requires_grad=False)
    clipper = AdaptiveClipper([("big", big), ("small", small), ("frozen", frozen)])
    assert clipper.state_dict() == {"big": 0.5, "small": 0.5}  # L2 starts at 0.5
    big.grad = torch.tensor([6.0, 8.0, 0.0, 0.0])  # norm 10 > 2.5 x 0.5
    small.grad = torch.tensor([0.6, 0.8])  # norm 1.0 <= 1.25: untouched
    assert clipper.clip() == 1
    assert float(big.grad.norm()) == pytest.approx(1.25)
    assert big.grad.tolist() == pytest.approx([0.75, 1.0, 0.0, 0.0])  # direction kept
    assert small.grad.tolist() == pytest.approx([0.6, 0.8])
    # Running averages move toward the (clipped) norms with momentum 0.995.
    assert clipper.state_dict()["big"] == pytest.approx(0.995 * 0.5 + 0.005 * 1.25)
    assert clipper.state_dict()["small"] == pytest.approx(0.995 * 0.5 + 0.005 * 1.0)
    # Next step: the threshold is 2.5 x the new average.
    big.grad = torch.tensor([1.26, 0.0, 0.0, 0.0])
    small.grad = None  # no gradient: average unchanged
    before = clipper.state_dict()["small"]
    assert clipper.clip() == 1
    assert float(big.grad.norm()) == pytest.approx(2.5 * (0.995 * 0.5 + 0.005 * 1.25))
    assert clipper.state_dict()["small"] == before
    restored = AdaptiveClipper([("big", big), ("small", small)])
    restored.load_state_dict(clipper.state_dict())
    assert restored.state_dict() == clipper.state_dict()


def test_adaptive_clip_with_the_max_norm_starts_at_five() -> None:
    weight = nn.Parameter(torch.zeros(3))
    clipper = AdaptiveClipper([("w", weight)], norm="max")
    weight.grad = torch.tensor([20.0, -5.0, 1.0])  # max 20 > 2.5 x 5.0
    assert clipper.clip() == 1
    assert weight.grad.tolist() == pytest.approx([12.5, -3.125, 0.625])


def test_defaults_are_the_reference_and_fast_lays_under_user_values() -> None:
    reference = MellowConfig()
    assert (reference.optim.schedule, reference.optim.clip) == ("epoch_cosine", "adaptive")
    assert reference.train.precision == "fp32"
    assert reference.model.audio_encoder_mode == "train"
    assert reference.evaluate.max_new_tokens == 300 and reference.data.eval_crop == "random"
    assert reference.model.language_model == "auto"
    fast = load_config(None, ["profile=fast"])
    assert (fast.optim.schedule, fast.optim.clip) == ("warmup_cosine", "global")
    assert fast.train.precision == "auto" and fast.model.audio_encoder_mode == "eval"
    mixed = load_config(None, ["profile=fast", "optim.clip=adaptive"])
    assert mixed.optim.clip == "adaptive" and mixed.optim.schedule == "warmup_cosine"


def tiny_mellow(mode: str):
    from reasonaqa.mellow.language_model import load_tokenizer
    from reasonaqa.mellow.model import build_mellow

    config = ModelConfig(size="tiny", language_model="tiny", audio_encoder_mode=mode)
    return build_mellow(config, load_tokenizer("tiny"))


def test_frozen_htsat_in_train_mode_augments_but_never_learns() -> None:
    torch.manual_seed(0)
    model = tiny_mellow("train")
    htsat = model.audio_encoder.base.htsat
    weights = {k: v.clone() for k, v in htsat.named_parameters()}
    assert not any(p.requires_grad for p in htsat.parameters())
    model.train()
    assert htsat.training and htsat.spec_augmenter.training
    wave = 0.1 * torch.randn(2, 32_000)
    first, second = htsat(wave).framewise, htsat(wave).framewise
    assert not torch.allclose(first, second)  # SpecAugment, DropPath, batch statistics
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.audio_encoder(wave).square().mean().backward()
    optimizer.step()
    for name, tensor in htsat.named_parameters():
        assert tensor.grad is None and torch.equal(tensor, weights[name]), name
    model.eval()
    assert torch.equal(htsat(wave).framewise, htsat(wave).framewise)


def test_eval_mode_encoder_is_deterministic_while_training() -> None:
    torch.manual_seed(0)
    model = tiny_mellow("eval")
    model.train()
    assert not model.audio_encoder.base.htsat.training
    htsat = model.audio_encoder.base.htsat
    wave = 0.1 * torch.randn(2, 32_000)
    torch.testing.assert_close(htsat(wave).framewise, htsat(wave).framewise)  # projection
    # dropout still acts after it: that part is trained


def test_specaugment_zeroes_at_most_two_stripes_per_axis() -> None:
    torch.manual_seed(1)
    augment = SpecAugment()
    x = torch.ones(3, 1, 200, 64)
    out = augment(x)
    for row in out[:, 0]:
        dropped_frames = int((row == 0).all(dim=1).sum())
        dropped_bins = int((row == 0).all(dim=0).sum())
        assert dropped_frames <= 2 * 63 and dropped_bins <= 2 * 7
    assert (out == 0).any()
    augment.eval()
    assert torch.equal(augment(x), x)


def test_print_config_round_trips_and_names_the_profile(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import reasonaqa.cli.train  # noqa: F401  (registers the commands)
    from reasonaqa.cli.app import app

    shown = CliRunner().invoke(app, ["train", "--profile", "fast", "--print-config"])
    assert shown.exit_code == 0, shown.output
    saved = tmp_path / "effective.yaml"
    saved.write_text(shown.output)
    assert load_config(saved) == load_config(None, ["profile=fast"])
    assert "schedule: warmup_cosine" in shown.output


def test_starting_from_the_instruct_gguf_is_announced(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from reasonaqa.mellow.language_model import resolve_language_model, start_up_warning

    monkeypatch.chdir(tmp_path)  # no models/SmolLM2-135M here
    assert resolve_language_model("auto") == "gguf"
    assert "smoke runs only" in (start_up_warning("auto") or "")
    assert start_up_warning("tiny") is None
    base = tmp_path / "models" / "SmolLM2-135M"
    base.mkdir(parents=True)
    (base / "config.json").write_text("{}")
    assert resolve_language_model("auto") == "models/SmolLM2-135M"
    assert start_up_warning("auto") is None
