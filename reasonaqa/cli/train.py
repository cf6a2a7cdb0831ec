"""``reasonaqa train``, ``evaluate`` and ``export-checkpoint``: the bundled Mellow trainer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from reasonaqa.cli.app import app

ConfigArg = Annotated[
    Path | None,
    typer.Argument(help="YAML laid over the defaults (mellow/config.py; see --print-config)"),
]
DataOpt = Annotated[
    list[Path] | None,
    typer.Option("--data", help="shard folder, .parquet or Mellow .json (repeatable)"),
]
AudioRootOpt = Annotated[
    Path | None, typer.Option("--audio-root", help="folder the audio paths are relative to")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="override, e.g. --set train.max_steps=100")
]


def _overrides(
    sets: list[str] | None, data_key: str, data: list[Path] | None, **values: object
) -> list[str]:
    items = list(sets or [])
    if data:
        items.append(f"{data_key}={json.dumps([str(p) for p in data])}")
    for key, value in values.items():
        if value is not None:
            items.append(f"{key}={json.dumps(str(value) if isinstance(value, Path) else value)}")
    return items


@app.command("train")
def train_command(
    config: ConfigArg = None,
    data: DataOpt = None,
    audio_root: AudioRootOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="run folder")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="stop after N steps")] = None,
    profile: Annotated[
        str | None, typer.Option("--profile", help="reference (default: the authors' code) or fast")
    ] = None,
    print_config: Annotated[
        bool, typer.Option("--print-config", help="print the effective settings as YAML and stop")
    ] = False,
    set_: SetOpt = None,
) -> int:
    """Train Mellow on shards or Mellow JSON; rerun the same command to resume.

    On N GPUs: torchrun --nproc_per_node=N -m reasonaqa.mellow.train CONFIG --set key=value
    """
    from reasonaqa.mellow.config import config_yaml, load_config

    overrides = _overrides(
        set_,
        "data.train",
        data,
        **{
            "data.audio_root": audio_root,
            "output": output,
            "train.max_steps": max_steps,
            "profile": profile,
        },
    )
    settings = load_config(config, overrides)
    if print_config:
        typer.echo(config_yaml(settings), nl=False)
        return 0
    from reasonaqa.mellow.train import train

    result = train(settings)
    typer.echo(f"trained to step {result.step}; checkpoint: {result.checkpoint}")
    return 0


@app.command("evaluate")
def evaluate_command(
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", "-c", help="Mellow checkpoint to score")
    ] = None,
    config: ConfigArg = None,
    data: DataOpt = None,
    audio_root: AudioRootOpt = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="folder for the scores")] = Path(
        "runs/mellow/eval"
    ),
    limit: Annotated[int | None, typer.Option("--limit", help="score the first N rows")] = None,
    set_: SetOpt = None,
) -> int:
    """Answer evaluation rows greedily; write predictions.jsonl, scores.json and scores.md."""
    from reasonaqa.mellow.config import load_config
    from reasonaqa.mellow.evaluate import evaluate, markdown_table

    overrides = _overrides(
        set_, "data.eval", data, **{"data.audio_root": audio_root, "evaluate.limit": limit}
    )
    table = evaluate(load_config(config, overrides), checkpoint, output)
    typer.echo(markdown_table(table), nl=False)
    return 0


@app.command("export-checkpoint")
def export_checkpoint_command(
    checkpoint: Annotated[Path, typer.Argument(help="a checkpoint written by reasonaqa train")],
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write (new)")],
    trust: Annotated[
        bool, typer.Option("--trust", help="allow pickled objects beyond tensors")
    ] = False,
) -> int:
    """Write the weights in the released Mellow layout (a flat state dict) for its wrapper."""
    from reasonaqa.mellow.checkpoints import export_released

    count = export_released(checkpoint, output, trust)
    typer.echo(f"wrote {count} tensors to {output}")
    return 0
