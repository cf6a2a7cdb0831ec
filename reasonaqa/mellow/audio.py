"""Audio in: read with soundfile, mono, 32 kHz, fixed length; and HTSAT's log-mel front end.

The front end keeps the parameter names and shapes of the public HTSAT checkpoint
(``spectrogram_extractor.stft.conv_real.weight``, ``logmel_extractor.melW``): the STFT is a
1-D convolution with a Hann-windowed DFT basis and the mel filters are Slaney-style, so
loading that checkpoint replaces these tensors with (numerically) the same values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F
from torch import nn

from reasonaqa.errors import InputError


def read_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``sample_rate``."""
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise InputError(f"cannot read audio: {err}", file=path) from None
    return resample(samples.mean(axis=1), rate, sample_rate)


def resample(samples: np.ndarray, rate: int, new_rate: int) -> np.ndarray:
    """Band-limited resampling in the frequency domain: exact for clips, no extra dependency."""
    if rate == new_rate or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    n_out = max(1, round(samples.size * new_rate / rate))
    spectrum = np.fft.rfft(samples)
    keep = min(spectrum.size, n_out // 2 + 1)
    resized = np.zeros(n_out // 2 + 1, dtype=spectrum.dtype)
    resized[:keep] = spectrum[:keep]
    return (np.fft.irfft(resized, n_out) * (n_out / samples.size)).astype(np.float32)


def fit_length(
    samples: np.ndarray,
    length: int,
    crop: Literal["random", "centre"],
    pad: Literal["zero", "repeat"],
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Exactly ``length`` samples: training crops at random and pads with zeros, evaluation
    takes the centre and repeats short clips."""
    if samples.size > length:
        if crop == "random":
            start = int((rng or np.random.default_rng()).integers(0, samples.size - length + 1))
        else:
            start = (samples.size - length) // 2
        return samples[start : start + length]
    if samples.size == length:
        return samples
    if pad == "repeat" and samples.size > 0:
        return np.tile(samples, math.ceil(length / samples.size))[:length]
    out = np.zeros(length, dtype=np.float32)
    out[: samples.size] = samples
    return out


def slaney_mel_filters(
    sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float
) -> np.ndarray:
    """Triangular mel filters, shape (n_fft // 2 + 1, n_mels), area-normalised (Slaney)."""

    def hz_to_mel(hz: np.ndarray) -> np.ndarray:
        linear = hz / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (math.log(6.4) / 27.0)
        return np.where(hz >= 1000.0, log, linear)

    def mel_to_hz(mel: np.ndarray) -> np.ndarray:
        linear = mel * (200.0 / 3)
        log = 1000.0 * np.exp((math.log(6.4) / 27.0) * (mel - 15.0))
        return np.where(mel >= 15.0, log, linear)

    fft_freqs = np.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    mel_edges = np.linspace(hz_to_mel(np.array(fmin)), hz_to_mel(np.array(fmax)), n_mels + 2)
    hz_edges = mel_to_hz(mel_edges)
    widths = np.diff(hz_edges)
    ramps = hz_edges[:, None] - fft_freqs[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (hz_edges[2:] - hz_edges[:-2]))[:, None]
    return weights.T.astype(np.float32)


class _STFTKernels(nn.Module):
    """Real and imaginary DFT rows times a periodic Hann window, as 1-D convolutions."""

    def __init__(self, n_fft: int, hop: int) -> None:
        super().__init__()
        bins = n_fft // 2 + 1
        window = np.hanning(n_fft + 1)[:-1]
        phase = -2j * np.pi * np.outer(np.arange(n_fft), np.arange(bins)) / n_fft
        basis = (np.exp(phase) * window[:, None]).T  # (bins, n_fft)
        self.conv_real = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        self.conv_imag = nn.Conv1d(1, bins, n_fft, stride=hop, bias=False)
        with torch.no_grad():
            self.conv_real.weight.copy_(torch.from_numpy(basis.real[:, None, :].astype(np.float32)))
            self.conv_imag.weight.copy_(torch.from_numpy(basis.imag[:, None, :].astype(np.float32)))


class Spectrogram(nn.Module):
    """Power spectrogram, (batch, samples) -> (batch, 1, frames, bins); centred, reflect-padded."""

    def __init__(self, n_fft: int = 1024, hop: int = 320) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.stft = _STFTKernels(n_fft, hop)
        self.requires_grad_(False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = F.pad(wave[:, None, :], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        power = self.stft.conv_real(x) ** 2 + self.stft.conv_imag(x) ** 2
        return power.transpose(1, 2)[:, None]


class LogMel(nn.Module):
    """Mel filter bank then power-to-decibel (reference 1.0, floor 1e-10, no top-dB clip)."""

    def __init__(
        self,
        sample_rate: int = 32_000,
        n_fft: int = 1024,
        n_mels: int = 64,
        fmin: float = 50.0,
        fmax: float = 14_000.0,
    ) -> None:
        super().__init__()
        filters = slaney_mel_filters(sample_rate, n_fft, n_mels, fmin, fmax)
        self.melW = nn.Parameter(torch.from_numpy(filters), requires_grad=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        mel = torch.matmul(power, self.melW)
        return 10.0 * torch.log10(mel.clamp(min=1e-10))
