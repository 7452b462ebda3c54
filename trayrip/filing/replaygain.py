"""ReplayGain 2.0 / R128 tag values from loudness measurements (filer thread, or the CLI offline).

The loudness itself is measured elsewhere: while recording (the recorder's
meter, for a recording filed as one file) or while a track is written
(:class:`MeteredSource`, for ``--split`` and ``--tracks``), so filing never
reads a file a second time for it. Album values are the meters of a
session's tracks merged (their gating histograms added).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..recording.loudness import R128_REFERENCE, REPLAYGAIN_REFERENCE, Loudness, LoudnessMeter

__all__ = ["ReplayGain", "MeteredSource"]


def _q78(lufs: float) -> str:
    """R128 gain (Opus, RFC 7845): dB to the -23 LUFS reference in Q7.8 fixed point, as decimal text."""
    return str(max(-32768, min(32767, round((R128_REFERENCE - lufs) * 256))))


@dataclass(frozen=True)
class ReplayGain:
    """One file's ReplayGain: track values, and album values when it belongs to a session of tracks."""

    track: Loudness
    album: Loudness | None = None

    @property
    def usable(self) -> bool:
        """False for silence (nothing passed the gates): no gain is written then."""
        return self.track.lufs is not None

    def vorbis(self) -> dict[str, str]:
        """Vorbis comments (FLAC, Ogg Vorbis) and ID3 TXXX descriptions: REPLAYGAIN_* in dB to -18 LUFS."""
        out: dict[str, str] = {}
        for name, loud in (("TRACK", self.track), ("ALBUM", self.album)):
            if loud is None or loud.lufs is None:
                continue
            out[f"REPLAYGAIN_{name}_GAIN"] = f"{REPLAYGAIN_REFERENCE - loud.lufs:.2f} dB"
            out[f"REPLAYGAIN_{name}_PEAK"] = f"{loud.peak:.6f}"
        return out

    def opus(self) -> dict[str, str]:
        """Opus comments: R128_TRACK_GAIN / R128_ALBUM_GAIN (Q7.8 dB to -23 LUFS); Opus has no peak tag."""
        out: dict[str, str] = {}
        for name, loud in (("TRACK", self.track), ("ALBUM", self.album)):
            if loud is not None and loud.lufs is not None:
                out[f"R128_{name}_GAIN"] = _q78(loud.lufs)
        return out


class MeteredSource:
    """A PCM source whose frames are measured as they are read in order (the read that encodes a track)."""

    def __init__(self, src, meter: LoudnessMeter | None = None):
        self.src = src
        self.path = src.path
        self.format = src.format
        self.frames = src.frames
        fmt = src.format
        self.meter = meter or LoudnessMeter(fmt.rate, fmt.channels, fmt.sample_width)
        self._next: int | None = None

    def read(self, start: int, frames: int):
        data = self.src.read(start, frames)
        if self._next is None or start == self._next:  # only a sequential pass is a measurement
            self.meter.feed(data)
            self._next = start + len(data) // self.format.bytes_per_frame
        return data

    def measure(self, start: int, end: int, block_seconds: float = 1.0) -> None:
        """Read frames [start, end) only to measure them (a track written by a kernel copy)."""
        step = max(1, int(block_seconds * self.format.rate))
        pos = start
        while pos < end:
            data = self.read(pos, min(step, end - pos))
            if not len(data):
                break
            pos += len(data) // self.format.bytes_per_frame

    def close(self) -> None:
        """The underlying source belongs to the caller."""


def measure_range(src, start: int, end: int) -> Loudness:
    """Loudness of frames [start, end) of a PCM source (offline: ``trayrip trim`` of a file made elsewhere)."""
    metered = MeteredSource(src)
    metered.measure(start, end)
    return metered.meter.result()


NORMALIZE_MODES = ("track", "album")
PEAK_CEILING_DB = -1.0  # normalizing never lifts a peak above this


def normalize_gain(loudness: Loudness) -> float:
    """dB to apply so the audio reaches -18 LUFS, limited so its sample peak stays at or under -1 dBFS."""
    if loudness.lufs is None or loudness.peak <= 0:
        return 0.0
    import math

    room = PEAK_CEILING_DB - 20.0 * math.log10(loudness.peak)
    return min(REPLAYGAIN_REFERENCE - loudness.lufs, room)


def after_gain(loudness: Loudness, db: float) -> Loudness:
    """What a measurement becomes once ``db`` is applied (for the tags of a normalized file)."""
    return Loudness(None if loudness.lufs is None else loudness.lufs + db, loudness.peak * 10.0 ** (db / 20.0))


class GainSource:
    """A PCM source read with a gain applied (normalizing while encoding); samples are rounded and clipped."""

    def __init__(self, src, db: float):
        self.src = src
        self.path = src.path
        self.format = src.format
        self.frames = src.frames
        self.factor = 10.0 ** (db / 20.0)

    def read(self, start: int, frames: int) -> bytes:
        import numpy as np

        from ..wav.pcm import from_float, to_float

        data = self.src.read(start, frames)
        if not len(data) or self.factor == 1.0:
            return bytes(data)
        fmt = self.format
        return from_float(to_float(data, fmt.sample_width, fmt.channels).astype(np.float64) * self.factor,
                          fmt.sample_width)

    def close(self) -> None:
        """The underlying source belongs to the caller."""
