"""Synthetic test audio and the measurements tests assert on.

Signals are float32 arrays shaped (frames, channels) in [-1, 1]; files are
48 kHz stereo 16-bit WAV unless asked otherwise. Everything here is pure
numpy + soundfile, except `espeak_wav` (espeak-ng, and sox to resample).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import soundfile as sf

RATE = 48000
CHANNELS = 2


# ------------------------------------------------------------------ signals

def silence(seconds: float, rate: int = RATE, channels: int = CHANNELS) -> np.ndarray:
    return np.zeros((int(round(seconds * rate)), channels), dtype=np.float32)


def tone(freq: float, seconds: float, rate: int = RATE, channels: int = CHANNELS,
         amplitude: float = 0.5, fade: float = 0.005, phase: float = 0.0) -> np.ndarray:
    """A sine of `freq` Hz with short raised-cosine fades (no clicks)."""
    n = int(round(seconds * rate))
    t = np.arange(n, dtype=np.float64) / rate
    x = amplitude * np.sin(2 * np.pi * freq * t + phase)
    nf = min(int(fade * rate), n // 2)
    if nf > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, nf))
        x[:nf] *= ramp
        x[n - nf:] *= ramp[::-1]
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@dataclass
class Bursts:
    """Tone bursts separated by silence, and where each burst is."""

    data: np.ndarray  # (frames, channels) float32
    rate: int
    freqs: list[float]
    onsets: list[float]  # burst start times, seconds from the start of `data`
    burst: float  # each burst's length, seconds
    gap: float  # silence between bursts, seconds
    path: Path | None = field(default=None)

    @property
    def duration(self) -> float:
        return len(self.data) / self.rate

    @property
    def offsets(self) -> list[float]:
        return [t + self.burst for t in self.onsets]


def tone_bursts(freqs: Sequence[float], burst: float = 0.4, gap: float = 0.4,
                lead: float = 0.0, tail: float = 0.0, rate: int = RATE,
                channels: int = CHANNELS, amplitude: float = 0.5) -> Bursts:
    """``lead`` s of silence, then for each frequency a `burst`-long tone,
    bursts separated by `gap` s of silence, then `tail` s of silence."""
    parts = [silence(lead, rate, channels)]
    onsets = []
    pos = len(parts[0])
    for i, f in enumerate(freqs):
        if i:
            parts.append(silence(gap, rate, channels))
            pos += len(parts[-1])
        onsets.append(pos / rate)
        parts.append(tone(f, burst, rate, channels, amplitude))
        pos += len(parts[-1])
    parts.append(silence(tail, rate, channels))
    return Bursts(np.concatenate(parts), rate, list(freqs), onsets, burst, gap)


def write_wav(path: str | os.PathLike, data: np.ndarray, rate: int = RATE,
              subtype: str = "PCM_16") -> Path:
    """Write `data` (frames[, channels]) as WAV (16-bit by default)."""
    path = Path(path)
    sf.write(os.fspath(path), np.asarray(data), rate, subtype=subtype, format="WAV")
    return path


def write_bursts(path: str | os.PathLike, freqs: Sequence[float], **kwargs) -> Bursts:
    """`tone_bursts(freqs, **kwargs)` written to `path`; returns the Bursts (with .path)."""
    b = tone_bursts(freqs, **kwargs)
    b.path = write_wav(path, b.data, b.rate)
    return b


def read_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """(float32 data shaped (frames, channels), rate)."""
    data, rate = sf.read(os.fspath(path), dtype="float32", always_2d=True)
    return data, rate


def espeak_wav(text: str, path: str | os.PathLike, rate: int = RATE, channels: int = CHANNELS,
               voice: str = "en", speed: int = 160) -> Path:
    """Speak `text` into a WAV at `path` (espeak-ng makes 22.05 kHz mono;
    sox converts it to `rate`/`channels`, 16-bit)."""
    path = Path(path)
    if shutil.which("espeak-ng") is None:
        raise RuntimeError("espeak-ng not found (apt package espeak-ng)")
    with tempfile.TemporaryDirectory(prefix="trayrip-espeak-") as tmp:
        raw = Path(tmp) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), "--", text],
                       check=True, capture_output=True, timeout=60)
        if shutil.which("sox") is not None:
            subprocess.run(["sox", str(raw), "-r", str(rate), "-c", str(channels), "-b", "16",
                            str(path)], check=True, capture_output=True, timeout=60)
        else:  # linear resampling is plenty for speech used as a test signal
            data, src_rate = read_audio(raw)
            mono = to_mono(data)
            n = int(round(len(mono) * rate / src_rate))
            res = np.interp(np.arange(n) * src_rate / rate, np.arange(len(mono)), mono)
            write_wav(path, np.repeat(res[:, None], channels, axis=1), rate)
    return path


# ------------------------------------------------------------------ analysis

def to_mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


def _segment(x: np.ndarray, rate: int, start: float | None, end: float | None) -> np.ndarray:
    m = to_mono(x)
    a = 0 if start is None else max(0, int(round(start * rate)))
    b = len(m) if end is None else min(len(m), int(round(end * rate)))
    return m[a:b]


def rms_dbfs(x: np.ndarray, rate: int = RATE, start: float | None = None,
             end: float | None = None) -> float:
    """RMS level in dBFS (a full-scale sine is -3 dBFS); -inf for digital silence."""
    seg = _segment(x, rate, start, end)
    if seg.size == 0:
        return float("-inf")
    rms = float(np.sqrt(np.mean(seg * seg)))
    return 20 * np.log10(rms) if rms > 0 else float("-inf")


def peak_dbfs(x: np.ndarray) -> float:
    p = float(np.max(np.abs(x))) if np.size(x) else 0.0
    return 20 * np.log10(p) if p > 0 else float("-inf")


def dominant_frequency(x: np.ndarray, rate: int = RATE, start: float | None = None,
                       end: float | None = None, fmin: float = 20.0) -> float:
    """The strongest frequency (Hz) in `x` (or its [start, end) seconds).

    Hann window, FFT, parabolic interpolation of the peak bin: accurate to
    well under 1 Hz for a clean tone of 0.1 s or more. 0.0 for silence.
    """
    seg = _segment(x, rate, start, end)
    if seg.size < 16 or not np.any(seg):
        return 0.0
    seg = seg - seg.mean()
    n = len(seg)
    nfft = 1 << max(int(np.ceil(np.log2(n))), 14)
    spec = np.abs(np.fft.rfft(seg * np.hanning(n), nfft))
    lo = int(np.ceil(fmin * nfft / rate))
    spec[:lo] = 0
    k = int(np.argmax(spec))
    if 0 < k < len(spec) - 1:
        a, b, c = np.log(spec[k - 1:k + 2] + 1e-30)
        denom = a - 2 * b + c
        k = k + (0.5 * (a - c) / denom if denom else 0.0)
    return float(k * rate / nfft)


def band_level_db(x: np.ndarray, freq: float, rate: int = RATE, width: float = 50.0,
                  start: float | None = None, end: float | None = None) -> float:
    """Level (dB relative to the whole segment's energy) of the band freq±width.

    ~0 dB when the segment is that tone; very negative when it is absent.
    """
    seg = _segment(x, rate, start, end)
    if seg.size == 0 or not np.any(seg):
        return float("-inf")
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)))) ** 2
    freqs = np.fft.rfftfreq(len(seg), 1 / rate)
    band = spec[(freqs >= freq - width) & (freqs <= freq + width)].sum()
    total = spec.sum()
    return float(10 * np.log10(band / total)) if band > 0 else float("-inf")


def envelope_db(x: np.ndarray, rate: int = RATE, window: float = 0.01) -> np.ndarray:
    """RMS level in dBFS per `window`-second block (block i covers [i*window, (i+1)*window))."""
    m = to_mono(x)
    hop = max(1, int(round(window * rate)))
    nblocks = len(m) // hop
    if nblocks == 0:
        return np.zeros(0)
    blocks = m[: nblocks * hop].reshape(nblocks, hop)
    rms = np.sqrt(np.mean(blocks * blocks, axis=1))
    with np.errstate(divide="ignore"):
        return 20 * np.log10(np.maximum(rms, 1e-10))


def find_bursts(x: np.ndarray, rate: int = RATE, threshold_db: float = -30.0,
                min_length: float = 0.05, min_gap: float = 0.05,
                window: float = 0.005) -> list[tuple[float, float]]:
    """(start, end) seconds of the stretches louder than `threshold_db` dBFS.

    Gaps shorter than `min_gap` are bridged, stretches shorter than
    `min_length` dropped. Time resolution is `window` (5 ms); starts are
    refined to the first sample above the threshold.
    """
    env = envelope_db(x, rate, window)
    loud = env > threshold_db
    runs: list[list[int]] = []
    i = 0
    while i < len(loud):
        if loud[i]:
            j = i
            while j < len(loud) and loud[j]:
                j += 1
            runs.append([i, j])
            i = j
        else:
            i += 1
    merged: list[list[int]] = []
    for r in runs:
        if merged and (r[0] - merged[-1][1]) * window < min_gap:
            merged[-1][1] = r[1]
        else:
            merged.append(r)
    m = to_mono(x)
    hop = max(1, int(round(window * rate)))
    thr = 10 ** (threshold_db / 20)
    out = []
    for a, b in merged:
        if (b - a) * window < min_length:
            continue
        # refine the start: first sample above the threshold's peak equivalent
        lo = max(0, (a - 1) * hop)
        above = np.nonzero(np.abs(m[lo:a * hop + hop]) > thr * np.sqrt(2))[0]
        start = (lo + above[0]) / rate if above.size else a * window
        out.append((float(start), float(b * window)))
    return out


def onsets(x: np.ndarray, rate: int = RATE, threshold_db: float = -30.0, **kwargs) -> list[float]:
    """Start times (s) of the tone bursts in `x` (see `find_bursts`)."""
    return [a for a, _ in find_bursts(x, rate, threshold_db, **kwargs)]


def burst_frequencies(x: np.ndarray, rate: int = RATE, threshold_db: float = -30.0,
                      **kwargs) -> list[tuple[float, float, float]]:
    """(start, end, dominant Hz) of each burst, measured on its middle part."""
    out = []
    for a, b in find_bursts(x, rate, threshold_db, **kwargs):
        margin = min(0.02, (b - a) / 4)
        out.append((a, b, dominant_frequency(x, rate, a + margin, b - margin)))
    return out


def xcorr_lag(reference: np.ndarray, recording: np.ndarray, max_lag: int | None = None) -> int:
    """Lag in samples such that ``recording[n + lag] ≈ reference[n]``.

    Positive: the reference appears `lag` samples into the recording.
    FFT cross-correlation of the mono mixes; `max_lag` limits |lag|.
    """
    a = to_mono(reference)
    b = to_mono(recording)
    a = a - a.mean()
    b = b - b.mean()
    n = len(a) + len(b) - 1
    nfft = 1 << int(np.ceil(np.log2(n)))
    corr = np.fft.irfft(np.fft.rfft(b, nfft) * np.conj(np.fft.rfft(a, nfft)), nfft)
    # corr[k] for k >= 0 is lag k; negative lags wrap to the end.
    lags = np.concatenate([np.arange(0, len(b)), np.arange(-(len(a) - 1), 0)])
    vals = np.concatenate([corr[: len(b)], corr[nfft - (len(a) - 1):]])
    if max_lag is not None:
        keep = np.abs(lags) <= max_lag
        lags, vals = lags[keep], vals[keep]
    return int(lags[int(np.argmax(vals))])


def xcorr_lag_seconds(reference: np.ndarray, recording: np.ndarray, rate: int = RATE,
                      max_lag: float | None = None) -> float:
    """`xcorr_lag` in seconds."""
    ml = None if max_lag is None else int(max_lag * rate)
    return xcorr_lag(reference, recording, ml) / rate


def normalized_xcorr_peak(reference: np.ndarray, recording: np.ndarray) -> float:
    """Peak of the normalised cross-correlation (1.0: recording contains the
    reference exactly, up to gain and delay)."""
    lag = xcorr_lag(reference, recording)
    a = to_mono(reference)
    b = to_mono(recording)
    if lag >= 0:
        b = b[lag:lag + len(a)]
        a = a[: len(b)]
    else:
        a = a[-lag:-lag + len(b)]
        b = b[: len(a)]
    denom = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.dot(a, b) / denom) if denom else 0.0


def alignment(reference: np.ndarray, recording: np.ndarray, rate: int = RATE, lost_cycle: int | None = None,
              segment: float = 0.4, slack: float = 0.002) -> tuple[float, float, float]:
    """Where ``reference`` is in ``recording``: (normalised xcorr peak, lag at its start, lag at its end; s).

    Without ``lost_cycle`` both lags are the one lag of the whole. With it
    (frames: PipeWire drops one whole graph cycle for a client it could not
    run in time), the recording may miss exactly that much once: the
    reference's ``segment``-long pieces found whole in the recording (peak
    ≥ 0.98) keep one lag up to a point and one lag ``lost_cycle`` shorter
    (± ``slack``) after it, with at most one piece between them (the one the
    loss fell in), and the peak is the lower of the two parts'. Anything else
    (two losses, another length, more left unexplained) is judged whole.
    """
    whole = normalized_xcorr_peak(reference, recording), xcorr_lag_seconds(reference, recording, rate)
    plain = (whole[0], whole[1], whole[1])
    if lost_cycle is None:
        return plain
    step = int(segment * rate)
    found = [(s, (xcorr_lag(reference[s:s + step], recording) - s) / rate)
             for s in range(0, len(reference) - step + 1, step)
             if normalized_xcorr_peak(reference[s:s + step], recording) >= 0.98]
    if len(found) < 2:
        return plain
    first, last = found[0][1], found[-1][1]
    if abs(first - last - lost_cycle / rate) > slack:
        return plain
    k = next(i for i, (_s, lag) in enumerate(found) if abs(lag - first) > slack)
    if any(abs(lag - last) > slack for _s, lag in found[k:]) or found[k][0] - (found[k - 1][0] + step) > step:
        return plain
    before, after = reference[: found[k - 1][0] + step], reference[found[k][0]:]
    return min(normalized_xcorr_peak(before, recording), normalized_xcorr_peak(after, recording)), first, last


def make_capture(path, frames, channels=2, width=2, rate=48000, rf64_limit=None):
    """A capture file written by the real WavWriter (a sawtooth per channel); returns its samples."""
    from trayrip.capture.base import AudioFormat
    from trayrip.recording.writer import WavWriter
    from trayrip.wav.pcm import from_float

    t = np.arange(frames)
    samples = np.stack([((t % 1000) / 1000.0 - 0.5) * (c + 1) * 0.5 for c in range(channels)], axis=1)
    kw = {} if rf64_limit is None else {"rf64_limit": rf64_limit}
    w = WavWriter(path, AudioFormat(rate, channels, width), **kw)
    w.write(from_float(samples.astype(np.float32), width))
    w.close()
    data, _ = sf.read(path, dtype="int32", always_2d=True)
    return data


def tone_with_silence(lead=1.0, tone=1.0, tail=1.5, freq=1000.0):
    """Stereo float32 at 48 kHz: silence, a 0.4-amplitude tone, silence (the recorder tests' signal)."""
    n = round((lead + tone + tail) * RATE)
    sig = np.zeros((n, 2), np.float32)
    a, b = round(lead * RATE), round((lead + tone) * RATE)
    t = np.arange(b - a) / RATE
    sig[a:b] = (0.4 * np.sin(2 * np.pi * freq * t))[:, None]
    return sig
