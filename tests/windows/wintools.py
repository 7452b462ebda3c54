"""Test signals and their checks for the Windows suite (Linux side: numpy + soundfile)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 48000


def write_tone(path: Path, freq: float, seconds: float, amplitude: float = 0.5, lead_silence: float = 0.0) -> Path:
    """A stereo sine of ``seconds`` (after ``lead_silence`` of digital silence) as 16-bit WAV."""
    t = np.arange(int(seconds * RATE)) / RATE
    tone = amplitude * np.sin(2 * np.pi * freq * t)
    mono = np.concatenate([np.zeros(int(lead_silence * RATE)), tone])
    sf.write(path, np.column_stack([mono, mono]), RATE, subtype="PCM_16")
    return path


def read(path: Path) -> tuple[np.ndarray, int]:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return data, rate


def peak_frequency(data: np.ndarray, rate: int) -> float:
    """The strongest frequency of the first channel (Hann window, parabolic peak)."""
    x = data[:, 0].astype(np.float64)
    x = x * np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x))
    k = int(np.argmax(spec[1:])) + 1
    if 1 <= k < len(spec) - 1:
        a, b, c = np.log(spec[k - 1:k + 2] + 1e-12)
        k = k + 0.5 * (a - c) / (a - 2 * b + c)
    return k * rate / len(x)


def sounding_seconds(data: np.ndarray, rate: int, threshold_db: float = -40) -> float:
    """Seconds between the first and last 10 ms block above ``threshold_db`` dBFS."""
    block = rate // 100
    n = len(data) // block
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(data[: n * block].reshape(n, block, -1) ** 2, axis=(1, 2)))
    loud = np.flatnonzero(rms > 10 ** (threshold_db / 20))
    return 0.0 if loud.size == 0 else (loud[-1] - loud[0] + 1) * block / rate


def loud_seconds(data: np.ndarray, rate: int, threshold_db: float = -40) -> float:
    """Seconds of 10 ms blocks above ``threshold_db`` dBFS (the tone's content, gaps not counted)."""
    block = rate // 100
    n = len(data) // block
    rms = np.sqrt(np.mean(data[: n * block].reshape(n, block, -1) ** 2, axis=(1, 2)))
    return float(np.count_nonzero(rms > 10 ** (threshold_db / 20))) * block / rate


def first_sound_seconds(data: np.ndarray, rate: int, threshold_db: float = -40) -> float:
    """Where the first 10 ms block above ``threshold_db`` dBFS starts."""
    block = rate // 100
    n = len(data) // block
    rms = np.sqrt(np.mean(data[: n * block].reshape(n, block, -1) ** 2, axis=(1, 2)))
    loud = np.flatnonzero(rms > 10 ** (threshold_db / 20))
    return float("nan") if loud.size == 0 else loud[0] * block / rate
