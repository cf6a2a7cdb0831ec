"""HTSAT, the hierarchical token-semantic audio transformer (Swin layout), written for Mellow.

Module and parameter names follow the public AudioSet checkpoint (``HTSAT_AudioSet_Saved_1``
without its ``sed_model.`` prefix) so its weights load as they are. The forward pass is
the token-semantic (TS-CAM) variant Mellow uses: a 768-d clip embedding, and 1024 frames of
class probabilities.

Input geometry: at most 1024 log-mel frames x 64 bins are stretched to 1024 x 64, then
folded into a 256 x 256 "image" (four 256-frame strips stacked along frequency).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from reasonaqa.mellow.audio import LogMel, Spectrogram
from reasonaqa.mellow.specaugment import SpecAugment


@dataclass(frozen=True)
class HTSATConfig:
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (4, 8, 16, 32)
    window: int = 8
    num_classes: int = 527
    mel_bins: int = 64
    spec_size: int = 256
    patch: int = 4
    drop_path: float = 0.1
    sample_rate: int = 32_000
    n_fft: int = 1024
    hop: int = 320
    fmin: float = 50.0
    fmax: float = 14_000.0

    @classmethod
    def tiny(cls) -> HTSATConfig:
        """Same geometry and names, a fraction of the width: for tests."""
        return cls(embed_dim=8, depths=(1, 2, 1, 1), num_heads=(1, 2, 2, 4), num_classes=16)

    @property
    def out_dim(self) -> int:
        return self.embed_dim * 2 ** (len(self.depths) - 1)

    @property
    def freq_ratio(self) -> int:
        return self.spec_size // self.mel_bins

    @property
    def frames(self) -> int:
        """Frame tokens out: one per STFT frame of the stretched 1024-frame input."""
        return self.spec_size * self.freq_ratio


def _windows(x: torch.Tensor, size: int) -> torch.Tensor:
    """(B, H, W, C) -> (B, nW, size*size, C), windows in row-major order."""
    b, h, w, c = x.shape
    x = x.view(b, h // size, size, w // size, size, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, (h // size) * (w // size), size * size, c)


def _unwindows(x: torch.Tensor, size: int, h: int, w: int) -> torch.Tensor:
    b, c = x.shape[0], x.shape[-1]
    x = x.view(b, h // size, w // size, size, size, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(b, h, w, c)


def _relative_index(size: int) -> torch.Tensor:
    """Index into the (2s-1)^2 bias table for every (query, key) pair of a window."""
    coords = torch.stack(
        torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    ).flatten(1)
    delta = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (size - 1)
    return delta[..., 0] * (2 * size - 1) + delta[..., 1]


def _shift_mask(resolution: int, size: int, shift: int) -> torch.Tensor:
    """Additive mask that stops a shifted window attending across the wrap-around seam."""
    region = torch.zeros(1, resolution, resolution, 1)
    bounds = (slice(0, -size), slice(-size, -shift), slice(-shift, None))
    label = 0
    for rows in bounds:
        for cols in bounds:
            region[:, rows, cols, :] = label
            label += 1
    ids = _windows(region, size).squeeze(-1)[0]  # (nW, size*size)
    differs = (ids[:, None, :] - ids[:, :, None]) != 0
    return differs.float() * -100.0


class WindowAttention(nn.Module):
    def __init__(self, dim: int, heads: int, size: int) -> None:
        super().__init__()
        self.heads = heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * size - 1) ** 2, heads))
        self.register_buffer("relative_position_index", _relative_index(size))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """x: (B, nW, N, C); mask: (nW, N, N) or None."""
        b, nw, n, c = x.shape
        qkv = self.qkv(x).view(b, nw, n, 3, self.heads, c // self.heads).permute(3, 0, 1, 4, 2, 5)
        n_idx = self.relative_position_index.view(-1)
        bias = self.relative_position_bias_table[n_idx].view(n, n, -1).permute(2, 0, 1)
        bias = bias[None, None] if mask is None else bias[None, None] + mask[None, :, None]
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=bias.to(x.dtype))
        return self.proj(out.transpose(2, 3).reshape(b, nw, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


def _drop_path(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    if rate == 0.0 or not training:
        return x
    keep = torch.empty(x.shape[0], *([1] * (x.ndim - 1)), device=x.device).bernoulli_(1 - rate)
    return x * keep / (1 - rate)


class SwinBlock(nn.Module):
    def __init__(
        self, dim: int, heads: int, resolution: int, window: int, shift: int, drop_path: float
    ) -> None:
        super().__init__()
        # A window as large as the map cannot shift: attend over the whole map instead.
        self.window = min(window, resolution)
        self.shift = 0 if resolution <= window else shift
        self.resolution = resolution
        self.drop_path = drop_path
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, self.window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        self.attn_mask: torch.Tensor | None
        if self.shift:
            self.register_buffer("attn_mask", _shift_mask(resolution, self.window, self.shift))
        else:
            self.attn_mask = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        r, s = self.resolution, self.shift
        y = self.norm1(x).view(b, r, r, c)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = _unwindows(self.attn(_windows(y, self.window), self.attn_mask), self.window, r, r)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + _drop_path(y.reshape(b, r * r, c), self.drop_path, self.training)
        return x + _drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class PatchMerging(nn.Module):
    """2x2 neighbours -> one token of twice the width."""

    def __init__(self, dim: int, resolution: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        r = self.resolution
        x = x.view(b, r, r, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class Stage(nn.Module):
    def __init__(
        self,
        dim: int,
        depth: int,
        heads: int,
        resolution: int,
        window: int,
        drop_paths: list[float],
        merge: bool,
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, resolution, window, (i % 2) * (window // 2), drop_paths[i])
            for i in range(depth)
        )
        self.downsample = PatchMerging(dim, resolution) if merge else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x) if self.downsample is not None else x


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


@dataclass
class HTSATOutput:
    latent: torch.Tensor  # (B, out_dim): the clip embedding
    framewise: torch.Tensor  # (B, frames, classes): class probabilities per frame
    clipwise: torch.Tensor  # (B, classes)


class HTSAT(nn.Module):
    def __init__(self, config: HTSATConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or HTSATConfig()
        self.spectrogram_extractor = Spectrogram(cfg.n_fft, cfg.hop)
        self.logmel_extractor = LogMel(cfg.sample_rate, cfg.n_fft, cfg.mel_bins, cfg.fmin, cfg.fmax)
        self.bn0 = nn.BatchNorm2d(cfg.mel_bins)
        self.spec_augmenter = SpecAugment()  # active in training mode only
        self.patch_embed = PatchEmbed(cfg.patch, cfg.embed_dim)
        grid = cfg.spec_size // cfg.patch
        rates = torch.linspace(0, cfg.drop_path, sum(cfg.depths)).tolist()
        self.layers = nn.ModuleList()
        for i, depth in enumerate(cfg.depths):
            first = sum(cfg.depths[:i])
            self.layers.append(
                Stage(
                    dim=cfg.embed_dim * 2**i,
                    depth=depth,
                    heads=cfg.num_heads[i],
                    resolution=grid // 2**i,
                    window=cfg.window,
                    drop_paths=rates[first : first + depth],
                    merge=i < len(cfg.depths) - 1,
                )
            )
        self.norm = nn.LayerNorm(cfg.out_dim)
        final_freq = cfg.spec_size // cfg.patch // 2 ** (len(cfg.depths) - 1) // cfg.freq_ratio
        self.tscam_conv = nn.Conv2d(cfg.out_dim, cfg.num_classes, (final_freq, 3), padding=(0, 1))
        # Part of the checkpoint; the TS-CAM forward pass does not use it.
        self.head = nn.Linear(cfg.num_classes, cfg.num_classes)
        self.apply(_init_weights)

    def forward(self, wave: torch.Tensor) -> HTSATOutput:
        """wave: (B, samples) at 32 kHz, at most 10.2 s."""
        x = self.logmel_extractor(self.spectrogram_extractor(wave))  # (B, 1, T, mel)
        x = self.spec_augmenter(self.bn0(x.transpose(1, 3)).transpose(1, 3))
        x = self.patch_embed(self._fold(x))
        for stage in self.layers:
            x = stage(x)
        return self._token_semantic_head(self.norm(x))

    def _fold(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, T<=1024, 64) -> (B, 1, 256, 256): stretch to 1024 frames, stack four strips."""
        cfg = self.config
        frames = cfg.spec_size * cfg.freq_ratio
        if x.shape[2] > frames:
            raise ValueError(f"HTSAT takes at most {frames} frames, got {x.shape[2]}")
        if x.shape[2] < frames:
            x = F.interpolate(x, (frames, x.shape[3]), mode="bicubic", align_corners=True)
        b = x.shape[0]
        x = x.transpose(2, 3).reshape(b, 1, cfg.mel_bins, cfg.freq_ratio, cfg.spec_size)
        return x.permute(0, 1, 3, 2, 4).reshape(b, 1, cfg.spec_size, cfg.spec_size)

    def _token_semantic_head(self, x: torch.Tensor) -> HTSATOutput:
        cfg = self.config
        b, n, c = x.shape
        side = int(n**0.5)
        x = x.transpose(1, 2).reshape(b, c, side, side)
        # Undo the fold: the four frequency strips become consecutive stretches of time.
        group = side // cfg.freq_ratio
        x = x.reshape(b, c, cfg.freq_ratio, group, side).permute(0, 1, 3, 2, 4)
        x = x.reshape(b, c, group, cfg.freq_ratio * side)
        latent = x.flatten(2).mean(-1)
        logits = self.tscam_conv(x).flatten(2)  # (B, classes, T')
        per_token = cfg.frames // logits.shape[-1]
        framewise = torch.sigmoid(logits).transpose(1, 2).repeat_interleave(per_token, dim=1)
        clipwise = torch.sigmoid(logits.mean(-1))
        return HTSATOutput(latent=latent, framewise=framewise, clipwise=clipwise)


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
