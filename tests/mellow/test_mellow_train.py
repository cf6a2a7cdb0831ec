"""The tiny Mellow trains on real shards and generated audio; resume is exact; evaluate scores.

One training run (module fixture) serves several tests, to keep the file fast on 2 cores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from typer.testing import CliRunner

import reasonaqa.cli.train  # noqa: F401  (registers the commands on the app)
from reasonaqa.cli.app import app
from reasonaqa.mellow.config import MellowConfig, ModelConfig, load_config
from reasonaqa.mellow.evaluate import evaluate
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.model import build_mellow
from reasonaqa.mellow.train import TrainResult, train
from reasonaqa.schemas import LETTERS, empty_row
from reasonaqa.testing.mmau_sample import official_rule, write_mmau
from reasonaqa.testing.shard_writer import ShardWriter

pytest.importorskip("transformers")

STEPS = 12
TONES = (220.0, 330.0, 440.0, 660.0, 880.0, 1320.0)


def write_clips(root: Path) -> list[str]:
    """Six 2 s clips: tones plus noise at 16 kHz, one stereo 44.1 kHz FLAC."""
    rng = np.random.default_rng(0)
    names = []
    for i, freq in enumerate(TONES):
        rate = 44_100 if i == 0 else 16_000
        t = np.arange(int(rate * (1.5 + 0.25 * i))) / rate
        tone = 0.4 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.standard_normal(t.size)
        name = f"clips/tone {i}.flac" if i == 0 else f"clips/tone_{i}.wav"
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = np.stack([tone, tone], axis=1) if i == 0 else tone
        sf.write(path, data.astype(np.float32), rate)
        names.append(name)
    return names


def write_shards(run: Path, clips: list[str]) -> None:
    """A run folder like ``reasonaqa generate`` writes: MCQ and detail rows, two splits."""
    rows = []
    for i, clip in enumerate(clips):
        pitch = "high" if TONES[i] >= 660 else "low"
        options = ["a low hum", "a high whistle", "a dog barking", "rain on a roof"]
        answer = options[1] if pitch == "high" else options[0]
        common = {
            "origin": "synthetic",
            "dataset": "clotho",
            "clip_id": f"c{i}",
            "audio_path": clip,
            "captions": [f"a {pitch} pitched tone"],
        }
        for split in ("train", "test"):
            rows.append(
                empty_row(
                    record_id=f"{split}-mcq-{i}",
                    source="Clotho-MCQ",
                    split=split,
                    task="mcq",
                    question="What is heard?",
                    options=options,
                    answer=answer,
                    answer_letter=LETTERS[options.index(answer)],
                    **common,
                )
            )
            rows.append(
                empty_row(
                    record_id=f"{split}-detail-{i}",
                    source="Clotho-Detail",
                    split=split,
                    task="detail",
                    question="Describe the pitch of the sound.",
                    answer=f"It is a steady {pitch} pitched tone.",
                    **common,
                )
            )
    with ShardWriter(run / "data", "part", max_rows=7) as writer:
        writer.write_many(rows)


def tiny_config(tmp: Path, audio_root: Path, data: Path, **extra: object) -> MellowConfig:
    overrides = {
        "output": str(tmp),
        "data.train": [str(data)],
        "data.eval": [str(data)],
        "data.audio_root": str(audio_root),
        "data.clip_seconds": 2,
        "data.prompt_tokens": 40,
        "data.answer_tokens": 24,
        "data.num_workers": 0,
        "data.val_split": "test",
        "model.size": "tiny",
        "model.language_model": "tiny",
        "optim.warmup_steps": 2,
        "optim.lr": 1e-2,
        "optim.max_grad_norm": 1.0,
        "train.batch_size": 2,
        "train.max_steps": STEPS,
        "train.save_every": 4,
        "train.keep_checkpoints": 4,
        "train.val_every": 6,
        "train.progress": False,
        "evaluate.batch_size": 4,
        "evaluate.max_new_tokens": 8,
        **extra,
    }
    return load_config(None, [f"{k}={json.dumps(v)}" for k, v in overrides.items()])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mellow")
    write_shards(root / "run", write_clips(root / "audio"))
    return root


@pytest.fixture(scope="module")
def trained(workspace: Path) -> tuple[MellowConfig, TrainResult]:
    config = tiny_config(workspace / "out", workspace / "audio", workspace / "run")
    return config, train(config)


def test_loss_falls(trained: tuple[MellowConfig, TrainResult]) -> None:
    _, result = trained
    assert result.step == STEPS and len(result.losses) == STEPS
    assert all(np.isfinite(result.losses))
    assert np.mean(result.losses[-3:]) < 0.8 * np.mean(result.losses[:3])


def test_train_log_and_checkpoints(trained: tuple[MellowConfig, TrainResult]) -> None:
    config, result = trained
    log = [
        json.loads(line) for line in (config.output / "train_log.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in log] == [10, STEPS]
    saved = sorted(p.name for p in (config.output / "checkpoints").glob("*.pt"))
    assert saved == ["step-0000004.pt", "step-0000008.pt", "step-0000012.pt"]
    assert result.checkpoint == config.output / "checkpoints" / "step-0000012.pt"


def test_resume_gives_the_same_next_losses(
    workspace: Path, trained: tuple[MellowConfig, TrainResult]
) -> None:
    _, uninterrupted = trained
    out = workspace / "resumed"
    (out / "checkpoints").mkdir(parents=True)
    # Step 4 is inside the first epoch (6 steps), so the resumed run also crosses an epoch.
    shutil.copy(workspace / "out" / "checkpoints" / "step-0000004.pt", out / "checkpoints")
    resumed = train(tiny_config(out, workspace / "audio", workspace / "run"))
    assert resumed.step == STEPS
    np.testing.assert_allclose(resumed.losses, uninterrupted.losses[4:], rtol=1e-5, atol=1e-6)
    final_a = torch.load(workspace / "out/checkpoints/step-0000012.pt", weights_only=True)["model"]
    final_b = torch.load(out / "checkpoints/step-0000012.pt", weights_only=True)["model"]
    for name, tensor in final_a.items():
        torch.testing.assert_close(final_b[name], tensor, msg=name)


def test_finished_run_resumes_to_nothing(trained: tuple[MellowConfig, TrainResult]) -> None:
    config, _ = trained
    again = train(config)
    assert again.step == STEPS and again.losses == []


def test_evaluate_writes_predictions_and_scores(
    workspace: Path, trained: tuple[MellowConfig, TrainResult]
) -> None:
    config, result = trained
    out = workspace / "eval"
    table = evaluate(config, result.checkpoint, out)
    assert set(table) == {"mcq", "detail"}
    assert table["mcq"]["rows"] == 6 and 0 <= table["mcq"]["letter"] <= 100
    assert "mmau" in table["mcq"] and "letter" not in table["detail"]
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and all(r["record_id"].startswith("test-") for r in rows)
    assert json.loads((out / "scores.json").read_text()) == table
    assert (out / "scores.md").read_text().startswith("| task | rows |")


def test_cli_train_and_evaluate(workspace: Path, trained: tuple[MellowConfig, TrainResult]) -> None:
    _, result = trained
    cfg_file = workspace / "tiny.yaml"
    cfg_file.write_text(
        "model: {size: tiny, language_model: tiny}\n"
        "data: {clip_seconds: 2, prompt_tokens: 40, answer_tokens: 24, num_workers: 0}\n"
        "train: {batch_size: 2, progress: false, save_every: 2}\n"
        "evaluate: {max_new_tokens: 4}\n"
    )
    runner = CliRunner()
    out = workspace / "cli"
    trained_cli = runner.invoke(
        app,
        [
            "train",
            str(cfg_file),
            "--data",
            str(workspace / "run"),
            "--audio-root",
            str(workspace / "audio"),
            "-o",
            str(out),
            "--max-steps",
            "2",
        ],
    )
    assert trained_cli.exit_code == 0, trained_cli.output
    assert (out / "checkpoints" / "step-0000002.pt").is_file()
    scored = runner.invoke(
        app,
        [
            "evaluate",
            str(cfg_file),
            "-c",
            str(result.checkpoint),
            "--data",
            str(workspace / "run"),
            "--audio-root",
            str(workspace / "audio"),
            "-o",
            str(out / "eval"),
            "--limit",
            "3",
        ],
    )
    assert scored.exit_code == 0, scored.output
    assert "| mcq |" in scored.output or "| detail |" in scored.output


def test_missing_audio_is_one_clear_error(workspace: Path) -> None:
    from reasonaqa.errors import InputError

    config = tiny_config(workspace / "bad", workspace / "nowhere", workspace / "run")
    with pytest.raises(InputError, match="audio file not found") as err:
        train(config)
    assert "\n" not in str(err.value) and "data.audio_root" in str(err.value)


def test_validation_loss_is_logged_during_training(
    trained: tuple[MellowConfig, TrainResult],
) -> None:
    config, result = trained
    log = [json.loads(line) for line in (config.output / "val_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [6, STEPS] and all(r["rows"] == 12 for r in log)
    assert [(r["step"], r["val_loss"]) for r in log] == result.val_losses
    assert all(np.isfinite(r["val_loss"]) for r in log)


def test_export_checkpoint_loads_strictly_in_the_released_layout(
    workspace: Path, trained: tuple[MellowConfig, TrainResult]
) -> None:
    _, result = trained
    out = workspace / "released" / "mellow.ckpt"
    runner = CliRunner()
    done = runner.invoke(app, ["export-checkpoint", str(result.checkpoint), "-o", str(out)])
    assert done.exit_code == 0, done.output
    flat = torch.load(out, map_location="cpu", weights_only=True)
    ours = torch.load(result.checkpoint, map_location="cpu", weights_only=True)["model"]
    assert set(flat) == set(ours) and all(isinstance(v, torch.Tensor) for v in flat.values())
    assert any(k.startswith("audio_encoder.base.htsat.") for k in flat)
    assert any(k.startswith("caption_decoder.lm.model.") for k in flat)
    # As the authors' wrapper loads it: a plain, strict load_state_dict.
    model = build_mellow(ModelConfig(size="tiny", language_model="tiny"), load_tokenizer("tiny"))
    model.load_state_dict(flat, strict=True)
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, ours[name], msg=name)
    again = runner.invoke(app, ["export-checkpoint", str(result.checkpoint), "-o", str(out)])
    assert again.exit_code != 0 and "already exists" in str(again.exception)  # one-line error


def test_cli_evaluates_an_mmau_file_with_2_to_8_choices(
    workspace: Path, trained: tuple[MellowConfig, TrainResult]
) -> None:
    _, result = trained
    mmau = write_mmau(workspace / "mmau.json", audio="clips/tone_1.wav")
    out = workspace / "mmau-eval"
    runner = CliRunner()
    scored = runner.invoke(
        app,
        [
            "evaluate",
            "-c",
            str(result.checkpoint),
            "--data",
            str(mmau),
            "--audio-root",
            str(workspace / "audio"),
            "-o",
            str(out),
            "--set",
            "data.clip_seconds=2",
            "--set",
            "data.prompt_tokens=64",
            "--set",
            "evaluate.max_new_tokens=6",
            "--set",
            "train.progress=false",
        ],
    )
    assert scored.exit_code == 0, scored.output
    items = json.loads(mmau.read_text())
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [r["record_id"] for r in rows] == [item["id"] for item in items]
    expected = [
        official_rule(r["prediction"], item["choices"], item["answer"])
        for r, item in zip(rows, items, strict=True)
    ]
    table = json.loads((out / "scores.json").read_text())
    assert table["mcq"]["rows"] == 5
    assert table["mcq"]["mmau"] == round(100 * sum(expected) / 5, 2)
    assert "mmau_text" in table["mcq"]
    groups = json.loads((out / "scores_by_group.json").read_text())
    assert {"sound", "music", "speech", "music/Key"} <= set(groups)
