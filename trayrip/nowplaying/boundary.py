"""Where a track really changes, near the moment the player said so (pure numpy; filer thread).

MPRIS signals arrive some hundreds of milliseconds off the audio (the
player's output buffer, the sound server, our capture). Given the audio
around a signal, :func:`find_cut` looks in a window of ``before`` … ``after``
seconds around it:

* for silence (10 ms windows below the threshold for at least
  ``min_silence``): the cut goes into it, leaving the usual pads, so the
  silence between tracks is dropped;
* otherwise (gapless tracks) for the largest change of the spectrum: the
  median log band levels of ``context`` seconds before and after each
  candidate point are compared (medians, so drum hits inside a track do not
  count as changes), level changes included; ``expected`` (from the player's
  Position) gently favours candidates near it. The exact point is then the
  sharpest change (``refine_context`` each side) close to the one found.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Cut", "find_cut", "silent_runs", "BoundarySettings"]


@dataclass(frozen=True)
class BoundarySettings:
    threshold_db: float = -50.0
    window: float = 0.010  # silence resolution, s
    min_silence: float = 0.15  # s of silence that count as a gap between tracks
    before: float = 1.0  # search this long before the signal…
    after: float = 2.0  # …and this long after it
    context: float = 0.25  # s of audio compared on each side of a candidate change
    refine_context: float = 0.05  # s compared on each side when placing the change exactly
    hop: float = 0.005  # s between candidate change points
    pad_before: float = 0.100
    pad_after: float = 0.300
    min_change_db: float = 3.0  # a weaker change than this is no boundary: cut at the expected point
    prior_width: float = 0.5  # s: how far from ``expected`` candidates keep most of their weight


@dataclass(frozen=True)
class Cut:
    """Frames (in the caller's audio) where the previous track ends and the next starts.

    ``kind``: ``silence``, ``change`` or ``signal`` (nothing found; cut at the expected point).
    """

    end: int
    start: int
    kind: str
    strength: float = 0.0  # dB of spectral change, for ``change``


def _mono_power(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    return np.mean(np.square(x), axis=1) if x.ndim == 2 else np.square(x)


def silent_runs(audio: np.ndarray, rate: int, threshold_db: float, window: float, min_length: float) -> list[tuple[int, int]]:
    """[start, end) frames of stretches quieter than ``threshold_db`` lasting at least ``min_length`` s."""
    w = max(1, round(window * rate))
    power = _mono_power(audio)
    n = power.shape[0] // w
    if n == 0:
        return []
    win = power[: n * w].reshape(n, w).mean(axis=1)
    quiet = win <= 10.0 ** (threshold_db / 10.0)
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    need = max(1, round(min_length / window))
    return [(int(s) * w, int(e) * w) for s, e in zip(starts, ends) if e - s >= need]


def _band_energies(mono: np.ndarray, rate: int, hop: int) -> tuple[np.ndarray, int]:
    """(frames × bands) power in ~32 log-spaced bands, and the FFT size (frame t is centred on t*hop)."""
    n_fft = 1 << int(np.ceil(np.log2(max(64, rate * 0.02))))
    pad = np.concatenate([np.zeros(n_fft // 2, np.float32), mono, np.zeros(n_fft // 2, np.float32)])
    count = 1 + (pad.shape[0] - n_fft) // hop
    if count <= 0:
        return np.zeros((0, 1)), n_fft
    idx = np.arange(n_fft)[None, :] + hop * np.arange(count)[:, None]
    frames = pad[idx] * np.hanning(n_fft).astype(np.float32)
    spec = np.square(np.abs(np.fft.rfft(frames, axis=1)))
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    edges = np.geomspace(40.0, min(16000.0, rate / 2), 33)
    band = np.clip(np.searchsorted(edges, freqs) - 1, -1, 31)
    out = np.zeros((count, 32))
    for b in range(32):
        sel = band == b
        if sel.any():
            out[:, b] = spec[:, sel].sum(axis=1)
    return out, n_fft


def _change_curve(
    audio: np.ndarray, rate: int, s: BoundarySettings, context: float | None = None, median: bool = True
) -> tuple[np.ndarray, int]:
    """dB of change between ``context`` before and after each hop position, and the hop in frames.

    ``median``: compare the median band levels of each side (robust against drum hits and other
    short bursts inside a track); else the levels of the mean power (sharper, for the exact point).
    """
    x = np.asarray(audio, dtype=np.float32)
    mono = x.mean(axis=1) if x.ndim == 2 else x
    hop = max(1, round(s.hop * rate))
    bands, _ = _band_energies(mono, rate, hop)
    k = max(1, round((s.context if context is None else context) / s.hop))
    n = bands.shape[0]
    curve = np.zeros(n)
    if n < 2 * k + 1:
        return curve, hop
    floor = max(float(bands.mean()) * 1e-6, 1e-12)  # ignore differences between near-silent bands
    t = np.arange(k, n - k + 1)
    if not median:
        csum = np.concatenate([np.zeros((1, bands.shape[1])), np.cumsum(bands, axis=0)])
        before = (csum[t] - csum[t - k]) / k
        after = (csum[t + k] - csum[t]) / k
        curve[t] = np.abs(10 * np.log10(before + floor) - 10 * np.log10(after + floor)).mean(axis=1)
        return curve, hop
    level = 10 * np.log10(bands + floor)
    # Medians, not means: drum hits and other short bursts inside a track fill only a minority of frames,
    # so the comparison follows the sustained sound, which is what changes between tracks.
    windows = np.lib.stride_tricks.sliding_window_view(level, k, axis=0)  # (n - k + 1, bands, k)
    med = np.median(windows, axis=2)  # med[i]: frames i .. i+k-1
    curve[t] = np.abs(med[t - k] - med[t]).mean(axis=1)
    return curve, hop


def find_cut(
    audio: np.ndarray,
    rate: int,
    signal: int,
    *,
    expected: int | None = None,
    settings: BoundarySettings | None = None,
) -> Cut:
    """Where to end the previous track and start the next, near frame ``signal`` of ``audio``.

    ``audio`` is float (frames × channels) in full scale 1.0, covering at least
    the search window plus ``context``; ``expected`` is a better guess than the
    signal when the player told its position.
    """
    s = settings or BoundarySettings()
    total = int(audio.shape[0])
    lo = max(0, signal - round(s.before * rate))
    hi = min(total, signal + round(s.after * rate))
    guess = int(np.clip(signal if expected is None else expected, lo, hi))
    every = silent_runs(audio, rate, s.threshold_db, s.window, s.min_silence)
    runs = [(a, b) for a, b in every if b > lo and a < hi]
    if runs:
        a, b = min(runs, key=lambda r: 0 if r[0] <= guess <= r[1] else min(abs(r[0] - guess), abs(r[1] - guess)))
        mid = (a + b) // 2
        end = min(a + round(s.pad_after * rate), mid) if a > 0 else mid
        start = max(b - round(s.pad_before * rate), mid) if b < total else mid
        return Cut(end, start, "silence")
    curve, hop = _change_curve(audio, rate, s)
    pos = np.arange(curve.shape[0]) * hop
    inside = (pos >= lo) & (pos <= hi)
    reach = round(s.context * rate)
    for a, b in every:  # sound against a silence just outside the window is not a change between tracks
        inside &= ~((pos > a - reach) & (pos < b + reach))
    if not inside.any():
        return Cut(guess, guess, "signal")
    weight = np.ones_like(curve)
    if expected is not None:
        weight = 0.5 + 0.5 * np.exp(-0.5 * np.square((pos - guess) / (s.prior_width * rate)))
    score = np.where(inside, curve * weight, -1.0)
    best = int(np.argmax(score))
    if curve[best] < s.min_change_db:
        return Cut(guess, guess, "signal", float(curve[best]))
    # The median comparison finds the change robustly but stays high while less than half of either side
    # has crossed it; the exact point is the sharpest change (short context) near there.
    fine, _ = _change_curve(audio, rate, s, context=s.refine_context, median=False)
    near = np.abs(pos - pos[best]) <= s.context * rate * 0.6
    at = int(min(pos[int(np.argmax(np.where(near & inside, fine, -1.0)))], total))
    return Cut(at, at, "change", float(curve[best]))
