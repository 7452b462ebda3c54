"""BS.1770 / EBU R128 loudness, measured block by block (recorder thread, or the filer offline).

The meter is fed the same PCM batches as the silence tracker. It K-weights
them (two biquads whose coefficients are computed for the stream's rate, as
libebur128 does), sums the weighted energy per 100 ms step, and forms the
400 ms gating blocks (75 % overlap) from the last four steps. Each block goes
into a fixed histogram (0.01 LU bins from -70 to +10 LUFS, a count and an
energy sum per bin), so memory does not grow with the recording's length and
two meters merge by adding their histograms (album loudness over tracks).
The integrated loudness applies the absolute (-70 LUFS) and relative (-10 LU)
gates on that histogram. The sample peak is kept too.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..wav.pcm import to_float

log = logging.getLogger(__name__)

__all__ = ["Loudness", "LoudnessMeter", "k_weighting", "REPLAYGAIN_REFERENCE", "R128_REFERENCE"]

REPLAYGAIN_REFERENCE = -18.0  # LUFS: ReplayGain 2.0's reference level
R128_REFERENCE = -23.0  # LUFS: what R128_TRACK_GAIN (Opus) refers to

_ABS_GATE = -70.0
_REL_GATE = -10.0
_HIST_LOW = -70.0
_HIST_HIGH = 10.0
_HIST_STEP = 0.01
_BINS = int(round((_HIST_HIGH - _HIST_LOW) / _HIST_STEP))
_OFFSET = -0.691  # BS.1770: loudness = -0.691 + 10 log10(sum G_i * z_i)
# BS.1770-4 channel weights for the usual 5.1 order (FL FR FC LFE BL BR): surrounds +1.5 dB, LFE left out.
_WEIGHTS_51 = (1.0, 1.0, 1.0, 0.0, 1.41, 1.41)


def k_weighting(rate: int) -> np.ndarray:
    """The K-weighting filter for ``rate`` Hz as second-order sections (pre-filter shelf, then RLB high-pass)."""
    f0, gain, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


_Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
_kernel: _Kernel | None = None


def _sosfilt_kernel() -> _Kernel:
    """scipy's compiled second-order-section filter: ``kernel(sos, x, zi)`` filters ``x`` (channels, frames)
    in place and leaves the end state in ``zi`` (channels, sections, 2).

    Why not ``scipy.signal.sosfilt``: importing ``scipy.signal`` pulls in linalg, special, optimize ...
    (+75 MB RSS measured) into a tray app that runs all day, while the compiled kernel alone costs 2 MB.
    It is loaded from its file once and checked on a known answer; if scipy's layout ever changes,
    the public function is used instead.
    """
    global _kernel
    if _kernel is None:
        try:
            _kernel = _private_kernel()
        except Exception as exc:  # noqa: BLE001 - any surprise means: use the public API
            log.info("using scipy.signal.sosfilt (%s)", exc)
            _kernel = _public_kernel()
    return _kernel


def _private_kernel() -> _Kernel:
    import importlib.machinery
    import importlib.util
    import os

    import scipy

    folder = os.path.join(os.path.dirname(scipy.__file__), "signal")
    name = next(f for f in os.listdir(folder) if f.startswith("_sosfilt.") and f.endswith(tuple(
        importlib.machinery.EXTENSION_SUFFIXES)))
    loader = importlib.machinery.ExtensionFileLoader("scipy.signal._sosfilt", os.path.join(folder, name))
    spec = importlib.util.spec_from_file_location("scipy.signal._sosfilt", os.path.join(folder, name), loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    kernel = module._sosfilt
    x, zi = np.array([[1.0, 0.0, 0.0, 0.0]]), np.zeros((1, 1, 2))
    kernel(np.array([[1.0, 0.0, 0.0, 1.0, -0.5, 0.0]]), x, zi)  # y[n] = x[n] + 0.5 y[n-1]
    if not np.allclose(x, [[1.0, 0.5, 0.25, 0.125]]) or not np.allclose(zi, [[[0.0625, 0.0]]]):
        raise ValueError("scipy's private sosfilt kernel answered differently")
    return kernel


def _public_kernel() -> _Kernel:
    from scipy.signal import sosfilt

    def kernel(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> None:
        y, zf = sosfilt(sos, x, axis=-1, zi=zi.transpose(1, 0, 2))
        x[...] = y
        zi[...] = zf.transpose(1, 0, 2)

    return kernel


def _weights(channels: int) -> np.ndarray:
    if channels == len(_WEIGHTS_51):
        return np.array(_WEIGHTS_51)
    return np.ones(channels)


@dataclass(frozen=True)
class Loudness:
    """A measurement: integrated loudness (None when nothing passed the gates) and the sample peak."""

    lufs: float | None
    peak: float  # linear, 1.0 = full scale

    def gain(self, reference: float = REPLAYGAIN_REFERENCE) -> float | None:
        """dB to add to reach ``reference`` LUFS (None for silence)."""
        return None if self.lufs is None else reference - self.lufs


class LoudnessMeter:
    """Feeds on PCM batches in order; knows the gated loudness so far. Not thread-safe (one feeding thread)."""

    def __init__(self, rate: int, channels: int, sample_width: int = 2):
        self.rate = rate
        self.channels = channels
        self.sample_width = sample_width
        self._sos = k_weighting(rate)
        self._zi = np.zeros((channels, self._sos.shape[0], 2))
        # The filter runs in 16-bit units for 16-bit streams (no scaling pass); its state stays in one unit.
        self._unit = 32768.0 if sample_width == 2 else 1.0
        self._weights = _weights(channels)
        self._step = (rate + 5) // 10  # frames per 100 ms, as libebur128
        self._partial = 0.0  # weighted energy of the step being filled
        self._partial_frames = 0
        self._recent = [0.0, 0.0, 0.0]  # the last three complete steps (a block is four)
        self._steps = 0
        self.counts = np.zeros(_BINS, dtype=np.int64)
        self.energies = np.zeros(_BINS, dtype=np.float64)
        self.peak = 0.0
        self.frames = 0

    # -- feeding ---------------------------------------------------------
    def feed(self, data: bytes | memoryview) -> None:
        """Account for one batch of interleaved PCM bytes."""
        if not len(data):
            return
        if self.sample_width != 2:
            self.feed_float(to_float(data, self.sample_width, self.channels))
            return
        # 16-bit: straight to the filter's layout, unscaled (the scale is applied to the energies): one copy, not three.
        ints = np.frombuffer(data, dtype="<i2").reshape(-1, self.channels)
        top = max(int(ints.max()), -int(ints.min())) / 32768.0
        self._filter(ints.T.astype(np.float64, order="C"), top)

    def feed_float(self, samples: np.ndarray) -> None:
        """Account for float samples of shape (frames, channels), full scale 1.0."""
        if samples.shape[0] == 0:
            return
        top = float(np.max(np.abs(samples)))
        block = np.array(samples.T, dtype=np.float64, order="C")
        if self._unit != 1.0:
            block *= self._unit
        self._filter(block, top)

    def _filter(self, channels_first: np.ndarray, top: float) -> None:
        """K-weight (channels, frames) samples (in the meter's unit) in place and account for their energy."""
        self.frames += channels_first.shape[1]
        if top > self.peak:
            self.peak = top
        _sosfilt_kernel()(self._sos, channels_first, self._zi)
        np.square(channels_first, out=channels_first)
        energy = channels_first[0] if self.channels == 1 else self._weights @ channels_first
        self._add_energy(energy / (self._unit * self._unit) if self._unit != 1.0 else energy)

    def feed_silence(self, frames: int) -> None:
        """Account for ``frames`` of digital silence without building all of it."""
        if frames <= 0:
            return
        # The filters ring out within a second; after that, silence adds steps of zero energy.
        ring = min(frames, self.rate)
        self.feed_float(np.zeros((ring, self.channels)))
        rest = frames - ring
        self.frames += rest
        while rest > 0:
            chunk = min(rest, 60 * self.rate)
            self._add_energy(np.zeros(chunk))
            rest -= chunk

    def _add_energy(self, energy: np.ndarray) -> None:
        """Sum the weighted per-frame energy into 100 ms steps; each new step closes a 400 ms block."""
        step = self._step
        pos = 0
        if self._partial_frames:
            take = min(step - self._partial_frames, energy.size)
            self._partial += float(energy[:take].sum())
            self._partial_frames += take
            pos = take
            if self._partial_frames < step:
                return
            steps = [np.array([self._partial])]
            self._partial, self._partial_frames = 0.0, 0
        else:
            steps = []
        whole = (energy.size - pos) // step
        if whole:
            steps.append(energy[pos : pos + whole * step].reshape(whole, step).sum(axis=1))
        rest = energy[pos + whole * step :]
        if rest.size:
            self._partial, self._partial_frames = float(rest.sum()), rest.size
        if steps:
            self._add_steps(np.concatenate(steps) if len(steps) > 1 else steps[0])

    def _add_steps(self, steps: np.ndarray) -> None:
        # A handful of steps per batch (one per 100 ms): plain floats beat numpy's per-call cost here.
        recent = self._recent
        norm = 1.0 / (4 * self._step)
        for total in steps.tolist():
            if self._steps >= 3:  # the first three steps do not yet complete a block
                self._add_block((recent[0] + recent[1] + recent[2] + total) * norm)
            recent = [recent[1], recent[2], total]
            self._steps += 1
        self._recent = recent

    def _add_block(self, mean_energy: float) -> None:
        """One 400 ms block into the histogram (above the absolute gate only)."""
        if mean_energy <= 0.0:
            return
        loud = _OFFSET + 10.0 * math.log10(mean_energy)
        if loud <= _ABS_GATE:
            return
        i = min(int((loud - _HIST_LOW) / _HIST_STEP), _BINS - 1)
        self.counts[i] += 1
        self.energies[i] += mean_energy

    # -- results ---------------------------------------------------------
    def merge(self, other: LoudnessMeter) -> None:
        """Add ``other``'s gating blocks and peak to this meter (album loudness)."""
        self.counts += other.counts
        self.energies += other.energies
        self.peak = max(self.peak, other.peak)
        self.frames += other.frames

    def result(self) -> Loudness:
        """The gated integrated loudness and the sample peak of everything fed so far."""
        return Loudness(integrated(self.counts, self.energies), self.peak)


def integrated(counts: np.ndarray, energies: np.ndarray) -> float | None:
    """Gated loudness from a block histogram (blocks already above the absolute gate); None if empty."""
    total = int(counts.sum())
    if not total:
        return None
    relative = _OFFSET + 10.0 * math.log10(float(energies.sum()) / total) + _REL_GATE
    edge = int(math.floor((relative - _HIST_LOW) / _HIST_STEP))
    first = edge + 1
    # The bin holding the gate counts when its blocks' mean passes it (they all lie within 0.01 LU of it).
    if 0 <= edge < _BINS and counts[edge] and _OFFSET + 10.0 * math.log10(energies[edge] / counts[edge]) > relative:
        first = edge
    first = min(max(first, 0), _BINS)
    n = int(counts[first:].sum())
    if not n:
        return None
    return _OFFSET + 10.0 * math.log10(float(energies[first:].sum()) / n)
