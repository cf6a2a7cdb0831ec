"""SpecAugment as HTSAT applies it in training mode: zeroed stripes of time and of frequency.

Per example, ``stripes`` stripes along each axis, each of a width drawn uniformly from
``[0, max_width)`` at a uniform start; HTSAT uses 2 time stripes up to 64 frames wide and
2 frequency stripes up to 8 mel bins. Draws come from torch's RNG, which training
checkpoints save, so a resumed run masks exactly as the uninterrupted one.
"""

from __future__ import annotations

import torch
from torch import nn


class SpecAugment(nn.Module):
    def __init__(
        self,
        time_width: int = 64,
        time_stripes: int = 2,
        freq_width: int = 8,
        freq_stripes: int = 2,
    ) -> None:
        super().__init__()
        self.time = (time_width, time_stripes)
        self.freq = (freq_width, freq_stripes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames, bins): masked in training mode, unchanged in eval mode."""
        if not self.training:
            return x
        keep = torch.ones_like(x)
        for axis, (width, stripes) in ((2, self.time), (3, self.freq)):
            size = x.shape[axis]
            for row in range(x.shape[0]):
                for _ in range(stripes):
                    span = int(torch.randint(0, width, (1,)))
                    begin = int(torch.randint(0, max(1, size - span + 1), (1,)))
                    keep[row].narrow(axis - 1, begin, min(span, size - begin)).zero_()
        return x * keep
