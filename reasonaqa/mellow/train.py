"""The Mellow training loop: ``setup`` builds everything, ``fit`` runs the steps; DDP, resume.

Run it as ``reasonaqa train CONFIG`` or, on N GPUs,
``torchrun --nproc_per_node=N -m reasonaqa.mellow.train CONFIG --set key=value``.

The data order and every per-row random choice follow from (seed, epoch, row), and a
training checkpoint holds every rank's torch RNG (dropout, DropPath, SpecAugment), so a
resumed run continues with exactly the batches, masks and losses the uninterrupted run
would have had (same number of processes). A validation loss is logged every
``train.val_every`` steps and at the end, without touching the training RNG.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from reasonaqa.errors import InputError
from reasonaqa.mellow.checkpoints import (
    TrainingState,
    latest_training,
    load_htsat_audioset,
    load_mellow,
    restore_training,
    save_training,
)
from reasonaqa.mellow.clipping import AdaptiveClipper
from reasonaqa.mellow.config import MellowConfig, ModelConfig, load_config
from reasonaqa.mellow.data import Batch, MellowDataset, collate, epoch_batches
from reasonaqa.mellow.examples import read_examples
from reasonaqa.mellow.language_model import load_tokenizer, resolve_language_model, start_up_warning
from reasonaqa.mellow.model import Mellow, build_mellow
from reasonaqa.mellow.processes import Processes, start_processes, stop_processes
from reasonaqa.mellow.schedules import lr_factor


@dataclass
class TrainResult:
    step: int
    losses: list[float]  # one per optimizer step taken by this call
    checkpoint: Path | None
    val_losses: list[tuple[int, float]]  # (step, validation loss) computed by this call


@dataclass
class Run:
    """Everything ``fit`` needs, built by ``setup``."""

    config: MellowConfig
    procs: Processes
    state: TrainingState
    wrapped: nn.Module  # the model, or its DDP wrapper
    dataset: MellowDataset
    validation: MellowDataset | None
    steps_per_epoch: int
    total: int
    step: int
    checkpoint: Path | None
    autocast: Callable[[], Any]


def build_model(config: ModelConfig, log: bool) -> Mellow:
    """Mellow with the configured starting weights (AudioSet HTSAT, then a Mellow checkpoint)."""
    model = build_mellow(config, load_tokenizer(config.language_model))
    reports = []
    if config.htsat_checkpoint:
        reports.append(
            load_htsat_audioset(model, config.htsat_checkpoint, config.trust_checkpoints)
        )
    if config.init_checkpoint:
        reports.append(load_mellow(model, config.init_checkpoint, config.trust_checkpoints))
    if log:
        for report in reports:
            print(report.describe(), file=sys.stderr)
    return model


def train(config: MellowConfig) -> TrainResult:
    procs = start_processes()
    try:
        return fit(setup(config, procs))
    finally:
        stop_processes(procs)


def _announce(config: MellowConfig) -> None:
    """The loud line when training starts from the Instruct GGUF, and the settings in use."""
    warning = start_up_warning(config.model.language_model)
    if warning:
        bar = "!" * 100
        print(f"{bar}\n{warning}\n{bar}", file=sys.stderr)
    optim, cfg = config.optim, config.train
    print(
        f"profile {config.profile}: schedule {optim.schedule}, clip {optim.clip}, precision "
        f"{cfg.precision}, HTSAT frozen={config.model.freeze_audio_encoder} in "
        f"{config.model.audio_encoder_mode} mode",
        file=sys.stderr,
    )


def setup(config: MellowConfig, procs: Processes) -> Run:
    """Model, data, optimizer, schedule, clipper; restored from the latest checkpoint."""
    if procs.main:
        _announce(config)
    # Store the language model actually used, so evaluation rebuilds the same one.
    lm = resolve_language_model(config.model.language_model)
    config = config.model_copy(
        update={"model": config.model.model_copy(update={"language_model": lm})}
    )
    cfg = config.train
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model = build_model(config.model, log=procs.main).to(procs.device)
    tokenizer = load_tokenizer(lm)
    examples = read_examples(config.data.train, config.data.train_split)
    dataset = MellowDataset(examples, tokenizer, config.data, config.seed, training=True)
    batches = len(epoch_batches(len(dataset), cfg.batch_size, config.seed, 0, 0, procs.world))
    steps_per_epoch = batches // cfg.grad_accum
    if steps_per_epoch == 0:
        raise InputError(
            f"{len(dataset)} rows make no full optimizer step of {cfg.batch_size} x "
            f"{cfg.grad_accum} accumulation x {procs.world} processes",
            field="train.batch_size",
        )
    total = cfg.max_steps or cfg.epochs * steps_per_epoch
    state = _training_state(config, model, steps_per_epoch, total)
    step, latest = 0, latest_training(_folder(config)) if cfg.resume else None
    if latest is not None:
        step = restore_training(latest, state, procs)
    else:
        torch.manual_seed(config.seed + procs.rank)  # different dropout masks per rank
    wrapped: nn.Module = model
    if procs.world > 1:
        wrapped = DistributedDataParallel(
            model,
            device_ids=[procs.device.index] if procs.device.type == "cuda" else None,
            # An unfrozen HTSAT has a classifier head the token-semantic pass never uses.
            find_unused_parameters=not config.model.freeze_audio_encoder,
        )
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and procs.device.type == "cuda")
    return Run(
        config=config,
        procs=procs,
        state=state,
        wrapped=wrapped,
        dataset=dataset,
        validation=_validation_set(config, tokenizer, procs),
        steps_per_epoch=steps_per_epoch,
        total=total,
        step=step,
        checkpoint=latest,
        autocast=partial(torch.autocast, procs.device.type, dtype=torch.bfloat16, enabled=bf16),
    )


def _folder(config: MellowConfig) -> Path:
    return Path(config.output) / "checkpoints"


def _training_state(
    config: MellowConfig, model: Mellow, steps_per_epoch: int, total: int
) -> TrainingState:
    optim = config.optim
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim_cls = torch.optim.AdamW if optim.name == "adamw" else torch.optim.Adam
    optimizer = optim_cls(trainable, lr=optim.lr, weight_decay=optim.weight_decay)
    factor = lr_factor(optim, steps_per_epoch, config.train.epochs, total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    clipper = None
    if optim.clip == "adaptive":
        clipper = AdaptiveClipper(
            model.named_parameters(),
            optim.clip_factor,
            optim.clip_momentum,
            optim.clip_norm,
            optim.clip_start,
        )
    return TrainingState(model, optimizer, scheduler, clipper)


def _validation_set(config: MellowConfig, tokenizer: Any, procs: Processes) -> MellowDataset | None:
    """The first ``val_limit`` validation rows, or None (said once) when there are none."""
    paths = config.data.val or [p for p in config.data.train if Path(p).suffix != ".json"]
    rows = read_examples(paths, config.data.val_split) if paths else []
    rows = rows[: config.train.val_limit]
    if not rows:
        if procs.main:
            print(
                "note: no validation rows (data.val / data.val_split); no validation loss",
                file=sys.stderr,
            )
        return None
    return MellowDataset(rows, tokenizer, config.data, config.seed, training=False)


def fit(run: Run) -> TrainResult:
    """Optimizer steps from ``run.step`` to ``run.total``, logging, validating, saving."""
    config, procs, cfg = run.config, run.procs, run.config.train
    run.state.model.train()
    per_step = cfg.batch_size * cfg.grad_accum * procs.world
    bar = tqdm(total=run.total, initial=run.step, disable=not (cfg.progress and procs.main))
    result = TrainResult(step=run.step, losses=[], checkpoint=run.checkpoint, val_losses=[])
    started, started_step = time.perf_counter(), run.step
    step = run.step
    while step < run.total:
        epoch, offset = divmod(step, run.steps_per_epoch)
        group: list[Batch] = []
        for batch in _loader(run, epoch, offset):
            group.append(batch.to(procs.device))
            if len(group) < cfg.grad_accum:
                continue
            loss = _optimizer_step(run, group)
            group = []
            step += 1
            result.losses.append(procs.mean(loss))
            rate = (step - started_step) * per_step / (time.perf_counter() - started)
            bar.update(1)
            bar.set_postfix(loss=f"{result.losses[-1]:.4f}", samples_per_s=f"{rate:.1f}")
            lr = run.state.scheduler.get_last_lr()[0]
            if procs.main and (step % cfg.log_every == 0 or step == run.total):
                _log(
                    config.output,
                    "train_log.jsonl",
                    step=step,
                    epoch=epoch,
                    loss=result.losses[-1],
                    lr=lr,
                    samples_per_s=rate,
                )
            if run.validation is not None and (step % cfg.val_every == 0 or step == run.total):
                result.val_losses.append((step, _validate(run, step, epoch)))
            if step % cfg.save_every == 0 or step == run.total:
                result.checkpoint = save_training(
                    _folder(config),
                    step,
                    run.state,
                    config.model_dump(mode="json"),
                    cfg.keep_checkpoints,
                    procs,
                )
            if step >= run.total:
                break
    bar.close()
    result.step = step
    return result


def _loader(run: Run, epoch: int, offset: int) -> DataLoader[Any]:
    """This rank's batches of ``epoch``, from batch ``offset`` on (a resume mid-epoch)."""
    config, cfg = run.config, run.config.train
    run.dataset.set_epoch(epoch)
    order = epoch_batches(
        len(run.dataset), cfg.batch_size, config.seed, epoch, run.procs.rank, run.procs.world
    )
    order = order[offset * cfg.grad_accum : run.steps_per_epoch * cfg.grad_accum]
    return DataLoader(
        run.dataset,
        batch_sampler=order,
        collate_fn=partial(collate, pad_id=run.dataset.pad_id),
        num_workers=config.data.num_workers,
        pin_memory=run.procs.device.type == "cuda",
        # Its own generator: a new loader must not draw from the RNG that dropout uses.
        generator=torch.Generator().manual_seed(config.seed + epoch),
    )


def _optimizer_step(run: Run, group: list[Batch]) -> float:
    """Accumulate gradients over ``group``, clip, step; the mean loss of the micro-batches."""
    model, state, optim = run.wrapped, run.state, run.config.optim
    total = 0.0
    for i, batch in enumerate(group):
        last = i == len(group) - 1
        # DDP: exchange gradients once per optimizer step, on the last micro-batch.
        sync = (
            contextlib.nullcontext() if last or not hasattr(model, "no_sync") else model.no_sync()
        )
        with sync:
            with run.autocast():
                loss = model(
                    batch.wave1, batch.wave2, batch.prompt, batch.answer, batch.answer_mask
                )
            (loss / len(group)).backward()
        total += float(loss.detach())
    if state.clipper is not None:
        state.clipper.clip()
    elif optim.clip == "global":
        params = [p for p in model.parameters() if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, optim.max_grad_norm)
    state.optimizer.step()
    state.scheduler.step()
    state.optimizer.zero_grad(set_to_none=True)
    return total / len(group)


@torch.no_grad()
def _validate(run: Run, step: int, epoch: int) -> float:
    """Mean answer loss over the validation rows (split across ranks), in eval mode.

    The RNG is forked so that validating never changes what training draws next.
    """
    assert run.validation is not None
    procs, cfg, model = run.procs, run.config.train, run.state.model
    mine = list(range(len(run.validation)))[procs.rank :: procs.world]
    batches = [mine[i : i + cfg.batch_size] for i in range(0, len(mine), cfg.batch_size)]
    devices = [procs.device] if procs.device.type == "cuda" else []
    weighted, rows = 0.0, 0
    with torch.random.fork_rng(devices=devices):
        model.eval()
        for indices in batches:
            batch = collate([run.validation[i] for i in indices], run.validation.pad_id)
            batch = batch.to(procs.device)
            with run.autocast():
                loss = model(
                    batch.wave1, batch.wave2, batch.prompt, batch.answer, batch.answer_mask
                )
            weighted += float(loss) * len(indices)
            rows += len(indices)
        model.train()
    weighted, rows = procs.sum([weighted, float(rows)])
    value = weighted / max(rows, 1.0)
    if procs.main:
        _log(
            run.config.output,
            "val_log.jsonl",
            step=step,
            epoch=epoch,
            val_loss=value,
            rows=int(rows),
        )
    return value


def _log(output: Path, name: str, **record: Any) -> None:
    Path(output).mkdir(parents=True, exist_ok=True)
    with open(Path(output) / name, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def main(argv: list[str] | None = None) -> None:
    """``torchrun`` entry point: ``python -m reasonaqa.mellow.train [CONFIG] [--set k=v ...]``."""
    parser = argparse.ArgumentParser(prog="python -m reasonaqa.mellow.train")
    parser.add_argument("config", nargs="?", type=Path)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        result = train(load_config(args.config, args.overrides))
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"trained to step {result.step}; checkpoint: {result.checkpoint}")


if __name__ == "__main__":
    main()
