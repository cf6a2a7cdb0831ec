"""The Mellow training loop: one process or many under ``torchrun`` (DDP), exact resume.

Run it as ``reasonaqa train CONFIG`` or, on N GPUs,
``torchrun --nproc_per_node=N -m reasonaqa.mellow.train CONFIG --set key=value``.

A checkpoint is written only between optimizer steps and holds the model, optimizer,
scheduler, step and every rank's torch RNG; the data order and every per-row random choice
follow from (seed, epoch, row), so a resumed run continues with exactly the batches, dropout
masks and losses the uninterrupted run would have had (same number of processes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from reasonaqa.errors import InputError
from reasonaqa.mellow.checkpoints import load_htsat_audioset, load_mellow
from reasonaqa.mellow.config import MellowConfig, ModelConfig, load_config
from reasonaqa.mellow.data import Batch, MellowDataset, collate, epoch_batches, read_examples
from reasonaqa.mellow.language_model import load_tokenizer
from reasonaqa.mellow.model import Mellow, build_mellow
from reasonaqa.storage.atomic import atomic_path

CHECKPOINT_GLOB = "step-*.pt"


@dataclass(frozen=True)
class Processes:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0


@dataclass
class TrainResult:
    step: int
    losses: list[float]  # one per optimizer step taken by this call
    checkpoint: Path | None


def start_processes() -> Processes:
    """Join the ``torchrun`` group when launched by it; otherwise one local process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available()
    if world == 1:
        return Processes(device=torch.device("cuda" if cuda else "cpu"))
    local = int(os.environ["LOCAL_RANK"])
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    return Processes(rank=dist.get_rank(), world=world, device=device)


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


def warmup_cosine(warmup: int, total: int) -> Any:
    """Linear warmup to the peak rate, then a cosine down to zero at ``total`` steps."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def train(config: MellowConfig) -> TrainResult:
    procs = start_processes()
    try:
        return _train(config, procs)
    finally:
        if procs.world > 1:
            dist.destroy_process_group()


def _train(config: MellowConfig, procs: Processes) -> TrainResult:
    cfg = config.train
    torch.manual_seed(config.seed)  # identical initial weights on every rank
    model = build_model(config.model, log=procs.main).to(procs.device)
    tokenizer = load_tokenizer(config.model.language_model)
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

    trainable = [p for p in model.parameters() if p.requires_grad]
    optim_cls = torch.optim.AdamW if config.optim.name == "adamw" else torch.optim.Adam
    optimizer = optim_cls(trainable, lr=config.optim.lr, weight_decay=config.optim.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(config.optim.warmup_steps, total)
    )
    folder = Path(config.output) / "checkpoints"
    step = 0
    latest = latest_checkpoint(folder) if cfg.resume else None
    if latest is not None:
        step = restore(latest, model, optimizer, scheduler, procs)
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
    model.train()
    bf16 = cfg.precision == "bf16" or (cfg.precision == "auto" and procs.device.type == "cuda")
    autocast = partial(torch.autocast, procs.device.type, dtype=torch.bfloat16, enabled=bf16)
    per_step = cfg.batch_size * cfg.grad_accum * procs.world
    bar = tqdm(total=total, initial=step, disable=not (cfg.progress and procs.main), unit="step")
    losses: list[float] = []
    saved: Path | None = latest
    started, started_step = time.perf_counter(), step
    while step < total:
        epoch, offset = divmod(step, steps_per_epoch)
        dataset.set_epoch(epoch)
        order = epoch_batches(
            len(dataset), cfg.batch_size, config.seed, epoch, procs.rank, procs.world
        )
        order = order[offset * cfg.grad_accum : steps_per_epoch * cfg.grad_accum]
        loader = DataLoader(
            dataset,
            batch_sampler=order,
            collate_fn=partial(collate, pad_id=dataset.pad_id),
            num_workers=config.data.num_workers,
            pin_memory=procs.device.type == "cuda",
            # Its own generator: a new loader must not draw from the RNG that dropout uses.
            generator=torch.Generator().manual_seed(config.seed + epoch),
        )
        group: list[Batch] = []
        for batch in loader:
            group.append(batch.to(procs.device))
            if len(group) < cfg.grad_accum:
                continue
            loss = _optimizer_step(wrapped, group, optimizer, scheduler, config, autocast)
            group = []
            step += 1
            losses.append(_mean_over_ranks(loss, procs))
            rate = (step - started_step) * per_step / (time.perf_counter() - started)
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", samples_per_s=f"{rate:.1f}", epoch=epoch)
            if procs.main and (step % cfg.log_every == 0 or step == total):
                _log(config.output, step, epoch, losses[-1], scheduler.get_last_lr()[0], rate)
            if step % cfg.save_every == 0 or step == total:
                saved = save_checkpoint(folder, step, model, optimizer, scheduler, config, procs)
            if step >= total:
                break
    bar.close()
    return TrainResult(step=step, losses=losses, checkpoint=saved)


def _optimizer_step(
    model: nn.Module,
    group: list[Batch],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: MellowConfig,
    autocast: Any,
) -> float:
    """Accumulate gradients over ``group``, clip, step; the mean loss of the micro-batches."""
    total = 0.0
    for i, batch in enumerate(group):
        last = i == len(group) - 1
        # DDP: exchange gradients once per optimizer step, on the last micro-batch.
        sync = (
            contextlib.nullcontext() if last or not hasattr(model, "no_sync") else model.no_sync()
        )
        with sync:
            with autocast():
                loss = model(
                    batch.wave1, batch.wave2, batch.prompt, batch.answer, batch.answer_mask
                )
            (loss / len(group)).backward()
        total += float(loss.detach())
    if config.optim.max_grad_norm is not None:
        params = [p for p in model.parameters() if p.grad is not None]
        torch.nn.utils.clip_grad_norm_(params, config.optim.max_grad_norm)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return total / len(group)


def _mean_over_ranks(value: float, procs: Processes) -> float:
    if procs.world == 1:
        return value
    tensor = torch.tensor([value], device=procs.device)
    dist.all_reduce(tensor)
    return float(tensor) / procs.world


def _log(output: Path, step: int, epoch: int, loss: float, lr: float, rate: float) -> None:
    record = {"step": step, "epoch": epoch, "loss": loss, "lr": lr, "samples_per_s": rate}
    Path(output).mkdir(parents=True, exist_ok=True)
    with open(Path(output) / "train_log.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def _rng_state(procs: Processes) -> list[dict[str, Any]]:
    """Every rank's torch RNG, gathered on all ranks (only rank 0 writes them)."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if procs.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(procs.device)
    if procs.world == 1:
        return [state]
    gathered: list[Any] = [None] * procs.world
    dist.all_gather_object(gathered, state)
    return gathered


def save_checkpoint(
    folder: Path,
    step: int,
    model: Mellow,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    config: MellowConfig,
    procs: Processes,
) -> Path:
    path = folder / f"step-{step:07d}.pt"
    rng = _rng_state(procs)
    if procs.main:
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "rng": rng,
            "config": config.model_dump(mode="json"),
        }
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        for old in sorted(folder.glob(CHECKPOINT_GLOB))[: -config.train.keep_checkpoints]:
            old.unlink()
    if procs.world > 1:
        dist.barrier()
    return path


def latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(Path(folder).glob(CHECKPOINT_GLOB))
    return found[-1] if found else None


def restore(
    path: Path,
    model: Mellow,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    procs: Processes,
) -> int:
    """Load a training checkpoint in place; the optimizer step it was taken at."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    rng = state["rng"]
    if len(rng) == procs.world:
        torch.set_rng_state(rng[procs.rank]["cpu"])
        if "cuda" in rng[procs.rank] and procs.device.type == "cuda":
            torch.cuda.set_rng_state(rng[procs.rank]["cuda"], procs.device)
    else:  # a different number of processes: resumable, but not bit-exact
        torch.manual_seed(int(state["step"]) * 1000 + procs.rank)
    if procs.main:
        print(f"resumed from {path} at step {state['step']}", file=sys.stderr)
    return int(state["step"])


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
