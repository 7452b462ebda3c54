"""Streaming level and silence tracking (recorder thread, or offline over a file).

Audio is measured in fixed windows (10 ms by default) whatever the driver's
block size, so the first and last sound are known to within one window while
recording, and trimming at stop needs no second pass over the file. Sound
regions separated by long silences are kept too (a few numbers per region),
which is what splitting into tracks needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..wav.pcm import to_float

__all__ = ["DEFAULT_THRESHOLD_DB", "SilenceSettings", "SilenceTracker", "db_from_power"]

DEFAULT_THRESHOLD_DB = -50.0
_SCALE_16 = np.float32(1.0 / 32768)


def no_sound_text(peak_db: float, threshold_db: float) -> str:
    """How trayrip says that a recording or file holds no sound (the same words everywhere)."""
    if peak_db == float("-inf"):
        return "digital silence (every sample is zero)"
    return f"no sound above {threshold_db:g} dBFS (the loudest moment is {peak_db:.0f} dBFS)"


def db_from_power(power: float) -> float:
    """Mean square (full scale = 1.0) to dBFS; silence is -inf."""
    return 10.0 * math.log10(power) if power > 0 else float("-inf")


@dataclass(frozen=True)
class SilenceSettings:
    """What counts as silence, and what to keep around the sound."""

    threshold_db: float = DEFAULT_THRESHOLD_DB
    pad_before: float = 0.100
    pad_after: float = 0.300
    window: float = 0.010
    region_gap: float = 2.0  # silences at least this long separate sound regions

    def __post_init__(self) -> None:
        if not -120.0 <= self.threshold_db <= 0.0:
            raise ValueError(f"silence threshold {self.threshold_db} dBFS must be between -120 and 0")
        if self.pad_before < 0 or self.pad_after < 0:
            raise ValueError("silence pads must not be negative")
        if not 0.001 <= self.window <= 1.0:
            raise ValueError("silence window must be between 1 ms and 1 s")
        if self.region_gap <= 0:
            raise ValueError("region gap must be positive")


class SilenceTracker:
    """Feeds on PCM blocks in order; knows where the sound is.

    Frame positions count from the first frame fed. ``level_db`` is the RMS
    level of the most recent block, for meters.
    """

    def __init__(self, rate: int, channels: int, sample_width: int, settings: SilenceSettings | None = None):
        self.rate = rate
        self.channels = channels
        self.sample_width = sample_width
        self.settings = settings or SilenceSettings()
        self.window_frames = max(1, round(self.settings.window * rate))
        self._threshold_power = 10.0 ** (self.settings.threshold_db / 10.0)
        self._gap_frames = round(self.settings.region_gap * rate)
        self._carry = np.zeros((0, channels), dtype=np.float32)
        self._scratch = np.empty(0, np.float32)  # reused by feed() for 16-bit blocks
        self.frames = 0  # frames fed so far
        self._analysed = 0  # frames covered by complete windows
        self.level_db = float("-inf")
        self.peak_db = float("-inf")
        self._regions: list[list[int]] = []  # [start, end) of sound, merged across gaps < region_gap

    # -- feeding ---------------------------------------------------------
    def feed(self, data: bytes | memoryview) -> None:
        """Account for one block of interleaved PCM bytes."""
        if self.sample_width != 2:
            self.feed_float(to_float(data, self.sample_width, self.channels))
            return
        # 16-bit (nearly every recording): converted into one reused buffer, not two
        # fresh arrays per block; with no copy of the block below, feeding takes half the time.
        ints = np.frombuffer(data, dtype="<i2")
        if self._scratch.size < ints.size:
            self._scratch = np.empty(ints.size, np.float32)
        samples = self._scratch[: ints.size]
        np.multiply(ints, _SCALE_16, out=samples, casting="unsafe")
        self.feed_float(samples.reshape(-1, self.channels))

    def feed_float(self, samples: np.ndarray) -> None:
        """Account for float samples of shape (frames, channels)."""
        n = samples.shape[0]
        if n == 0:
            return
        self.frames += n
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        flat = samples.reshape(-1)
        self.level_db = db_from_power(float(np.einsum("i,i->", flat, flat)) / flat.size)
        w = self.window_frames
        head_powers = None
        if self._carry.shape[0]:  # complete the carried window first (no copy of the whole block)
            head = min(n, w - self._carry.shape[0])
            first = np.concatenate([self._carry, samples[:head]])
            if first.shape[0] < w:
                self._carry = first
                return
            joined = first.reshape(1, -1)
            head_powers = np.einsum("ij,ij->i", joined, joined) / np.float32(w * self.channels)  # as below
            samples = samples[head:]
        whole = samples.shape[0] // w
        windows = samples[: whole * w].reshape(whole, w * self.channels)
        powers = np.einsum("ij,ij->i", windows, windows) / np.float32(w * self.channels)
        if head_powers is not None:
            powers = np.concatenate([head_powers, powers])
        if powers.size:
            self._note_windows(powers)
        self._carry = samples[whole * w :].copy()

    def feed_silence(self, frames: int) -> None:
        """Account for a stretch of digital silence without building it."""
        if frames <= 0:
            return
        self.frames += frames
        self.level_db = float("-inf")
        pending = self._carry.shape[0] + frames
        # The carried partial window is completed by zeros; its power only falls.
        if self._carry.shape[0]:
            w = self.window_frames
            head = min(frames, w - self._carry.shape[0])
            filled = np.concatenate([self._carry, np.zeros((head, self.channels), np.float32)])
            if filled.shape[0] == w:
                self._note_windows(np.array([np.mean(np.square(filled))], dtype=np.float32))
                pending -= w
            else:
                self._carry = filled
                return
        whole = pending // self.window_frames
        self._analysed += whole * self.window_frames
        self._carry = np.zeros((pending - whole * self.window_frames, self.channels), np.float32)

    def _note_windows(self, powers: np.ndarray) -> None:
        w = self.window_frames
        base = self._analysed
        self._analysed += powers.shape[0] * w
        if powers.size:
            top = float(powers.max())
            peak = db_from_power(top)
            if peak > self.peak_db:
                self.peak_db = peak
        loud = np.flatnonzero(powers > self._threshold_power)
        if loud.size == 0:
            return
        starts = base + loud * w
        # Split the loud windows of this batch into runs separated by >= region_gap.
        breaks = np.flatnonzero(np.diff(starts) - w >= self._gap_frames) + 1
        for run in np.split(starts, breaks):
            start, end = int(run[0]), int(run[-1]) + w
            if self._regions and start - self._regions[-1][1] < self._gap_frames:
                self._regions[-1][1] = end
            else:
                self._regions.append([start, end])

    # -- results ---------------------------------------------------------
    @property
    def has_sound(self) -> bool:
        return bool(self._regions)

    @property
    def first_sound(self) -> int | None:
        """First frame of the first window above the threshold."""
        return self._regions[0][0] if self._regions else None

    @property
    def last_sound_end(self) -> int | None:
        """Frame just after the last window above the threshold."""
        return min(self._regions[-1][1], self.frames) if self._regions else None

    @property
    def regions(self) -> list[tuple[int, int]]:
        """Sound regions [start, end) separated by silences >= region_gap."""
        return [(s, min(e, self.frames)) for s, e in self._regions]

    def trim_range(self) -> tuple[int, int] | None:
        """Frames [start, end) to keep: the sound plus pads; None if all silent."""
        if not self._regions:
            return None
        s = self.settings
        start = max(0, self._regions[0][0] - round(s.pad_before * self.rate))
        end = min(self.frames, self._regions[-1][1] + round(s.pad_after * self.rate))
        return start, end
