"""Learning-rate schedules, as factors of the peak rate for ``LambdaLR`` (stepped per step).

- ``epoch_cosine`` (reference): ``CosineAnnealingLR(T_max=epochs)`` stepped once per epoch,
  no warmup: every step of epoch ``e`` uses ``0.5 * (1 + cos(pi * e / epochs))``. Written as
  a per-step function of the step's epoch, so a resume mid-epoch restores it exactly.
- ``warmup_cosine`` (profile ``fast``): linear warmup, then a per-step cosine to zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from reasonaqa.mellow.config import OptimConfig


def epoch_cosine(steps_per_epoch: int, epochs: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        return 0.5 * (1.0 + math.cos(math.pi * (step // steps_per_epoch) / epochs))

    return factor


def warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """Linear warmup to the peak rate, then a cosine down to zero at ``total`` steps."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def lr_factor(
    config: OptimConfig, steps_per_epoch: int, epochs: int, total: int
) -> Callable[[int], float]:
    if config.schedule == "epoch_cosine":
        return epoch_cosine(steps_per_epoch, epochs)
    return warmup_cosine(config.warmup_steps, total)
