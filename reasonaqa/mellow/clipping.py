"""Per-tensor adaptive gradient clipping, as the authors' Mellow trainer clips (SPEC.md §3).

Each parameter tensor keeps a running average of its own gradient norm. A step whose norm
exceeds ``factor`` times that average is scaled down to exactly ``factor`` times the average;
the average then moves toward the (clipped) norm with ``momentum``. Averages start at
``start`` (0.5 for the L2 norm, 5.0 for the max norm unless set), so the first steps clip at
1.25 (L2) or 12.5 (max).

Our reading of their description, where it leaves a choice open: the average is updated
with the norm after clipping, so a single spike cannot raise the threshold for what follows,
and a tensor without a gradient this step keeps its average unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import torch
from torch import nn

DEFAULT_START = {"l2": 0.5, "max": 5.0}


class AdaptiveClipper:
    """Clips each tensor's gradient against its own running norm; state saves and restores."""

    def __init__(
        self,
        named: Iterable[tuple[str, nn.Parameter]],
        factor: float = 2.5,
        momentum: float = 0.995,
        norm: Literal["l2", "max"] = "l2",
        start: float | None = None,
    ) -> None:
        self.params = [(name, p) for name, p in named if p.requires_grad]
        self.factor = factor
        self.momentum = momentum
        self.norm = norm
        start = DEFAULT_START[norm] if start is None else start
        self.averages = {name: start for name, _ in self.params}

    @torch.no_grad()
    def clip(self) -> int:
        """Clip every gradient in place; how many tensors were clipped."""
        present = [(name, p.grad) for name, p in self.params if p.grad is not None]
        if not present:
            return 0
        order = float("inf") if self.norm == "max" else 2.0
        # One host transfer for all norms, not one per tensor.
        norms = torch.stack(
            [torch.linalg.vector_norm(g.float(), order) for _, g in present]
        ).tolist()
        clipped = 0
        for (name, grad), norm in zip(present, norms, strict=True):
            limit = self.factor * self.averages[name]
            if norm > limit:
                grad.mul_(limit / norm)
                norm = limit
                clipped += 1
            self.averages[name] = self.momentum * self.averages[name] + (1 - self.momentum) * norm
        return clipped

    def state_dict(self) -> dict[str, float]:
        return dict(self.averages)

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.averages.update({k: float(v) for k, v in state.items() if k in self.averages})
