"""Reading a PCM WAV/RF64 file by frame position (any thread; one reader per thread).

``os.pread`` rather than a memory map: pages of a map count as RSS, and a
long recording would look like a memory leak.
"""
from __future__ import annotations

import os
from pathlib import Path

from .layout import WavLayout, read_layout
from .fileio import preadv

__all__ = ["WavSource"]


class WavSource:
    """A PCM WAV/RF64 file read with ``os.pread`` (no memory map: pages of a map count as RSS)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            self.layout: WavLayout = read_layout(self.fd)
        except ValueError:
            os.close(self.fd)
            raise
        self.format = self.layout.fmt
        self.frames = self.layout.data_size // self.format.bytes_per_frame
        self._buf = bytearray()

    def read(self, start: int, frames: int) -> memoryview:
        """PCM bytes of frames [start, start+frames); the view is reused by the next call."""
        bpf = self.format.bytes_per_frame
        frames = max(0, min(frames, self.frames - start))
        size = frames * bpf
        if len(self._buf) < size + 1:  # +1: lets 24-bit readers load 4 bytes at the last sample
            self._buf = bytearray(size + 1)
        view = memoryview(self._buf)[:size]
        got = preadv(self.fd, [view], self.layout.data_offset + start * bpf) if size else 0
        return view[: got - got % bpf]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> WavSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
