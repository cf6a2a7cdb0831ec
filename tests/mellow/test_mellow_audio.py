"""Audio loading, resampling, cropping and the log-mel front end, on generated signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from reasonaqa.errors import InputError
from reasonaqa.mellow.audio import (
    LogMel,
    Spectrogram,
    fit_length,
    read_audio,
    resample,
    slaney_mel_filters,
)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


def test_resample_keeps_pitch_and_length() -> None:
    t = np.arange(44_100) / 44_100
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    out = resample(tone, 44_100, 32_000)
    assert out.dtype == np.float32 and out.size == 32_000
    assert abs(dominant_hz(out, 32_000) - 1000) <= 1
    assert abs(np.abs(out).max() - 1.0) < 0.05


def test_read_audio_mixes_stereo_and_resamples(tmp_path: Path) -> None:
    t = np.arange(16_000) / 16_000
    left = np.sin(2 * np.pi * 500 * t)
    path = tmp_path / "stereo file, é.flac"
    sf.write(path, np.stack([left, left], axis=1).astype(np.float32), 16_000)
    out = read_audio(path, 32_000)
    assert out.ndim == 1 and out.size == 32_000
    assert abs(dominant_hz(out, 32_000) - 500) <= 1


def test_unreadable_audio_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(b"not audio")
    with pytest.raises(InputError, match="cannot read audio"):
        read_audio(path, 32_000)


def test_fit_length_modes() -> None:
    x = np.arange(10, dtype=np.float32)
    assert fit_length(x, 4, "centre", "repeat").tolist() == [3, 4, 5, 6]
    crops = {
        tuple(fit_length(x, 4, "random", "zero", np.random.default_rng(s)).astype(int).tolist())
        for s in range(20)
    }
    assert len(crops) > 1 and all(c == tuple(range(c[0], c[0] + 4)) for c in crops)
    assert fit_length(x[:3], 7, "random", "zero").tolist() == [0, 1, 2, 0, 0, 0, 0]
    assert fit_length(x[:3], 7, "centre", "repeat").tolist() == [0, 1, 2, 0, 1, 2, 0]


def test_mel_filters_are_slaney_triangles() -> None:
    filters = slaney_mel_filters(32_000, 1024, 64, 50, 14_000)
    assert filters.shape == (513, 64) and (filters >= 0).all()
    freqs = np.linspace(0, 16_000, 513)
    peaks = freqs[filters.argmax(axis=0)]
    assert np.all(np.diff(peaks) >= 0) and 40 < peaks[0] < 120 and 13_000 < peaks[-1] < 14_000
    # Area normalisation: the wide high filters are lower than the narrow low ones.
    assert filters[:, -1].max() < filters[:, 5].max()


def test_front_end_puts_a_tone_in_the_right_mel_band() -> None:
    t = torch.arange(32_000) / 32_000
    wave = torch.sin(2 * torch.pi * 2000 * t)[None]
    power = Spectrogram(1024, 320)(wave)
    assert power.shape == (1, 1, 101, 513)
    assert int(power[0, 0, 50].argmax()) == 64  # 2000 Hz / (32000 / 1024) per bin
    logmel = LogMel()(power)
    band = int(logmel[0, 0, 50].argmax())
    filters = slaney_mel_filters(32_000, 1024, 64, 50, 14_000)
    assert filters[64, band] == filters[64].max()
    assert torch.isfinite(LogMel()(Spectrogram()(torch.zeros(1, 3200)))).all()
