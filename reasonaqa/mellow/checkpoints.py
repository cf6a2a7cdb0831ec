"""Mellow's weights on disk: public layouts in, training checkpoints in and out, export.

- Loading reports, in plain words, what did not match.
- Training checkpoints (``step-NNNNNNN.pt``) hold the model, optimizer, scheduler, clipper
  state, step, every rank's torch RNG and the config; written only between optimizer steps,
  atomically, by rank 0, the oldest beyond ``keep`` removed.
- ``export_released`` writes the released layout: one flat state dict of Mellow's module
  names, which the authors' wrapper loads with ``load_state_dict``.

Layouts understood:
- the AudioSet HTSAT Lightning checkpoint: ``{"state_dict": {"sed_model.<htsat key>": ...}}``;
- Mellow's released checkpoint and ours: ``audio_encoder.base.htsat.*``,
  ``audio_encoder.base.c2l.*``, ``audio_encoder.projection.*``, ``caption_decoder.lm.*``,
  either bare or under ``state_dict`` / ``model``, with or without DDP's ``module.`` prefix;
- ``.safetensors`` files of either layout.
"""

from __future__ import annotations

import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from reasonaqa.errors import InputError
from reasonaqa.mellow.clipping import AdaptiveClipper
from reasonaqa.mellow.model import Mellow
from reasonaqa.mellow.processes import Processes
from reasonaqa.storage.atomic import atomic_path

CHECKPOINT_GLOB = "step-*.pt"

HTSAT_PREFIX = "sed_model."
# Tensors every build recomputes identically: missing from a file is harmless.
DERIVED_SUFFIXES = ("relative_position_index", "attn_mask", "num_batches_tracked")


@dataclass
class LoadReport:
    """What a checkpoint filled in, and what it did not."""

    source: Path
    target: str
    loaded: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.mismatched)

    def describe(self) -> str:
        lines = [f"{self.source}: loaded {self.loaded} tensors into {self.target}."]
        if self.missing:
            lines.append(
                f"{len(self.missing)} weights of the model were not in the file and keep their "
                f"initial values: {_sample(self.missing)}"
            )
        if self.mismatched:
            lines.append(
                f"{len(self.mismatched)} tensors have a different shape in the file and were "
                f"skipped: {_sample(self.mismatched)}"
            )
        if self.unexpected:
            lines.append(
                f"{len(self.unexpected)} tensors of the file match no weight of the model and "
                f"were ignored: {_sample(self.unexpected)}"
            )
        if self.complete and not self.unexpected:
            lines.append("Every weight matched.")
        return " ".join(lines)


def _sample(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def read_state_dict(path: Path, trust: bool = False) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, unwrapped from Lightning/DDP containers."""
    path = Path(path)
    if not path.is_file():
        raise InputError("checkpoint not found", file=path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        raw: Any = torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as err:
        raise InputError(
            f"the checkpoint holds Python objects beyond tensors ({err}); if you trust the "
            "file, set model.trust_checkpoints: true",
            file=path,
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(raw, dict) and isinstance(raw.get(key), dict):
            raw = raw[key]
    if not isinstance(raw, dict):
        raise InputError("the checkpoint holds no state dict", file=path)
    tensors = {k: v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    return {k.removeprefix("module."): v for k, v in tensors.items()}


def load_into(
    module: nn.Module, state: dict[str, torch.Tensor], source: Path, target: str
) -> LoadReport:
    """Copy matching tensors into ``module``; never fails on a partial match, reports it."""
    own = module.state_dict()
    report = LoadReport(source=source, target=target)
    usable: dict[str, torch.Tensor] = {}
    for name, tensor in state.items():
        if name not in own:
            report.unexpected.append(name)
        elif own[name].shape != tensor.shape:
            report.mismatched.append(
                f"{name} (file {tuple(tensor.shape)}, model {tuple(own[name].shape)})"
            )
        else:
            usable[name] = tensor
    report.missing = [
        name
        for name in own
        if name not in usable
        and not name.endswith(DERIVED_SUFFIXES)
        and not any(m.startswith(name + " ") for m in report.mismatched)
    ]
    module.load_state_dict(usable, strict=False)
    report.loaded = len(usable)
    return report


def load_htsat_audioset(model: Mellow, path: Path, trust: bool = False) -> LoadReport:
    """The AudioSet HTSAT checkpoint (``sed_model.`` keys) into Mellow's audio encoder."""
    state = read_state_dict(path, trust)
    if not any(k.startswith(HTSAT_PREFIX) for k in state):
        raise InputError(
            f"no '{HTSAT_PREFIX}*' keys: this is not the AudioSet HTSAT checkpoint", file=path
        )
    htsat = {
        k.removeprefix(HTSAT_PREFIX): v for k, v in state.items() if k.startswith(HTSAT_PREFIX)
    }
    report = load_into(model.audio_encoder.base.htsat, htsat, Path(path), "HTSAT")
    report.unexpected += [k for k in state if not k.startswith(HTSAT_PREFIX)]
    return report


def load_mellow(model: Mellow, path: Path, trust: bool = False) -> LoadReport:
    """A whole Mellow checkpoint: the released one or one written by ``reasonaqa train``."""
    state = read_state_dict(path, trust)
    if not any(k.startswith(("audio_encoder.", "caption_decoder.")) for k in state):
        raise InputError(
            "no 'audio_encoder.*' or 'caption_decoder.*' keys: this is not a Mellow checkpoint",
            file=path,
        )
    report = load_into(model, state, Path(path), "Mellow")
    # Tied embeddings: a file may carry lm_head.weight or only embed_tokens.weight.
    if model.lm.config.tie_word_embeddings:
        report.missing = [k for k in report.missing if not k.endswith("lm.lm_head.weight")]
    return report


# --- Training checkpoints ----------------------------------------------------------------


@dataclass
class TrainingState:
    """What a training checkpoint restores besides the step."""

    model: Mellow
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    clipper: AdaptiveClipper | None = None


def _rng_state(procs: Processes) -> list[dict[str, Any]]:
    """Every rank's torch RNG, gathered on all ranks (only rank 0 writes them)."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if procs.device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(procs.device)
    if procs.world == 1:
        return [state]
    gathered: list[Any] = [None] * procs.world
    torch.distributed.all_gather_object(gathered, state)
    return gathered


def save_training(
    folder: Path,
    step: int,
    state: TrainingState,
    config: dict[str, Any],
    keep: int,
    procs: Processes,
) -> Path:
    path = Path(folder) / f"step-{step:07d}.pt"
    rng = _rng_state(procs)
    if procs.main:
        payload = {
            "model": state.model.state_dict(),
            "optimizer": state.optimizer.state_dict(),
            "scheduler": state.scheduler.state_dict(),
            "clipper": state.clipper.state_dict() if state.clipper else None,
            "step": step,
            "rng": rng,
            "config": config,
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        for old in sorted(Path(folder).glob(CHECKPOINT_GLOB))[:-keep]:
            old.unlink()
    procs.barrier()
    return path


def latest_training(folder: Path) -> Path | None:
    found = sorted(Path(folder).glob(CHECKPOINT_GLOB))
    return found[-1] if found else None


def restore_training(path: Path, state: TrainingState, procs: Processes) -> int:
    """Load a training checkpoint in place; the optimizer step it was taken at."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.scheduler.load_state_dict(saved["scheduler"])
    if state.clipper is not None and saved.get("clipper"):
        state.clipper.load_state_dict(saved["clipper"])
    rng = saved["rng"]
    if len(rng) == procs.world:
        torch.set_rng_state(rng[procs.rank]["cpu"])
        if "cuda" in rng[procs.rank] and procs.device.type == "cuda":
            torch.cuda.set_rng_state(rng[procs.rank]["cuda"], procs.device)
    else:  # a different number of processes: resumable, but not bit-exact
        torch.manual_seed(int(saved["step"]) * 1000 + procs.rank)
    if procs.main:
        print(f"resumed from {path} at step {saved['step']}", file=sys.stderr)
    return int(saved["step"])


# --- Export --------------------------------------------------------------------------------


def export_released(checkpoint: Path, out: Path, trust: bool = False) -> int:
    """Our checkpoint's weights as the released layout: a flat state dict, fp32, nothing else.

    Returns the number of tensors written. Never overwrites an existing file.
    """
    out = Path(out)
    if out.exists():
        raise InputError("the output file already exists; choose another name", file=out)
    state = read_state_dict(checkpoint, trust)
    if not any(k.startswith(("audio_encoder.", "caption_decoder.")) for k in state):
        raise InputError("not a Mellow checkpoint", file=checkpoint)
    flat = {
        name: tensor.float() if tensor.is_floating_point() else tensor
        for name, tensor in state.items()
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        torch.save(flat, tmp)
    return len(flat)
