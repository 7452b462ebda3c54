"""What filing reads from: any audio file as random-access PCM blocks.

:class:`~trayrip.wav.reader.WavSource` reads 16/24-bit PCM WAV/RF64 by
position; :class:`SoundfileSource` decodes whatever libsndfile reads (FLAC,
Ogg, MP3, AIFF, float WAV ...). :func:`open_source` picks one. Runs on the
filer thread or the CLI's main thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from ..wav.format import AudioFormat
from ..wav.reader import WavSource

__all__ = ["PcmSource", "WavSource", "SoundfileSource", "SplicedSource", "open_source"]


class PcmSource(Protocol):
    """Random-access interleaved little-endian PCM (16- or 24-bit)."""

    path: Path
    format: AudioFormat
    frames: int

    def read(self, start: int, frames: int) -> bytes | memoryview:
        """Frames [start, start+frames) as PCM bytes (shorter at the end)."""

    def close(self) -> None: ...


_SF_WIDTH = {"PCM_S8": 2, "PCM_U8": 2, "PCM_16": 2, "ALAC_16": 2, "DWVW_16": 2}


class SoundfileSource:
    """Any file libsndfile reads (FLAC, Ogg, MP3, AIFF, float WAV ...), decoded block by block.

    16-bit and smaller sources read as 16-bit; everything else as 24-bit.
    """

    def __init__(self, path: Path):
        import soundfile as sf

        self.path = Path(path)
        try:
            self._f = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError) as exc:
            # libsndfile says "Error opening 'NAME': WHY"; the caller names the file once.
            why = str(exc).split("': ", 1)[-1].rstrip(".") or "unreadable"
            raise ValueError(f"not an audio file trayrip can read ({why})") from None
        width = _SF_WIDTH.get(self._f.subtype, 3)
        self.format = AudioFormat(self._f.samplerate, self._f.channels, width)
        self.frames = self._f.frames
        self.subtype = self._f.subtype
        self.container = self._f.format

    def read(self, start: int, frames: int) -> bytes:
        self._f.seek(start)
        if self.format.sample_width == 2:
            return self._f.read(frames, dtype="int16").tobytes()
        data = self._f.read(frames, dtype="int32")
        return data.reshape(-1).view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()

    def read_float(self, start: int, frames: int) -> np.ndarray:
        self._f.seek(start)
        return self._f.read(frames, dtype="float32", always_2d=True)

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> SoundfileSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_source(path: Path) -> WavSource | SoundfileSource:
    """WavSource for 16/24-bit PCM WAV/RF64, else SoundfileSource; ValueError if unreadable."""
    try:
        return WavSource(path)
    except ValueError:
        return SoundfileSource(path)


class SplicedSource:
    """Frame ranges of another source, back to back (a track with its pauses cut out)."""

    def __init__(self, src: PcmSource, ranges: list[tuple[int, int]]):
        self.src = src
        self.path = src.path
        self.format = src.format
        self.ranges = [(int(s), int(e)) for s, e in ranges if e > s]
        self.frames = sum(e - s for s, e in self.ranges)

    def read(self, start: int, frames: int) -> bytes:
        out = []
        pos = 0
        end = start + frames
        for s, e in self.ranges:
            n = e - s
            lo, hi = max(start, pos), min(end, pos + n)
            if hi > lo:
                out.append(bytes(self.src.read(s + lo - pos, hi - lo)))
            pos += n
            if pos >= end:
                break
        return b"".join(out)

    def close(self) -> None:
        """The underlying source belongs to the caller."""
