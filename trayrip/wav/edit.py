"""Cutting a finished WAV/RF64 file to a frame range without reading it whole (filer thread).

``cut_in_place`` is O(1): the leading part becomes a JUNK chunk in front of a
new data chunk header and the tail is truncated. Where the filesystem can
remove whole blocks from inside a file (Linux ext4/XFS: ``fallocate`` with
``FALLOC_FL_COLLAPSE_RANGE``), the bulk of that JUNK is then taken out of the
file, also in O(1): libsndfile logs "Request for header allocation …
denied" for any chunk over ~50 kB it has to skip, and that is the line
``sndfile-info`` showed for trimmed recordings. The part removed is a whole
chunk of its own, so the file parses before and after. Where the leading part is
large it is cheaper for the disk to copy the kept range into a new file
instead (``copy_range``, a thin wrapper over :func:`copy_wav_range`),
which costs O(kept bytes) and no memory.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

from .copy import copy_wav_range
from .layout import WavLayout, read_layout, update_sizes
from .fileio import NEW_FILE_MODE, collapse_range, pwrite
from .reader import WavSource

__all__ = ["cut_in_place", "copy_range", "IN_PLACE_MAX_LEAD"]

IN_PLACE_MAX_LEAD = 8 * 1024 * 1024  # bytes of dead leading audio we accept inside a JUNK chunk


def _aligned_start(layout: WavLayout, start: int) -> int:
    bpf = layout.fmt.bytes_per_frame
    if start * bpf < 16:  # too little room for a JUNK chunk header plus a data header
        return 0
    if (start * bpf) & 1:  # chunks must start on even offsets
        start -= 1
    return start


_SMALL_JUNK = 48 * 1024  # libsndfile skips chunks up to about this size without complaint


def _removable_chunk(fd: int, junk_offset: int, data_header: int) -> tuple[int, int] | None:
    """(offset, length) of whole filesystem blocks between ``junk_offset`` and the data header
    that can become a chunk of their own and be collapsed out; None when the dead part is small."""
    if data_header - junk_offset <= _SMALL_JUNK:
        return None
    # Windows' stat has no st_blksize; NTFS allocates in 4 KiB clusters by default.
    block = max(512, getattr(os.fstat(fd), "st_blksize", 4096))
    off = -(-(junk_offset + 8) // block) * block
    end = (data_header - 8) // block * block  # room for the last JUNK header before the data header
    return (off, end - off) if end - off >= block else None


def cut_in_place(path: Path, start: int, end: int) -> WavLayout:
    """Keep frames [start, end) of a WAV file written by trayrip; returns the new layout."""
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        layout = read_layout(fd)
        bpf = layout.fmt.bytes_per_frame
        total = layout.data_size // bpf
        end = max(0, min(end, total))
        start = _aligned_start(layout, max(0, min(start, end)))
        new_data_offset = layout.data_offset + start * bpf
        data_size = (end - start) * bpf
        junk_offset = layout.fmt_end
        removable = None
        if new_data_offset != layout.data_offset:
            # The new data header first: until the JUNK header lands, the old layout still parses.
            pwrite(fd, b"data" + struct.pack("<I", 0), new_data_offset - 8)
            removable = _removable_chunk(fd, junk_offset, new_data_offset - 8)
            if removable is not None:  # JUNK | JUNK (whole blocks, to be removed) | JUNK | data
                off, length = removable
                pwrite(fd, b"JUNK" + struct.pack("<I", new_data_offset - 8 - (off + length) - 8), off + length)
                pwrite(fd, b"JUNK" + struct.pack("<I", length - 8), off)
                pwrite(fd, b"JUNK" + struct.pack("<I", off - junk_offset - 8), junk_offset)
            else:
                pwrite(fd, b"JUNK" + struct.pack("<I", new_data_offset - 8 - junk_offset - 8), junk_offset)
        layout = WavLayout(layout.fmt, layout.ds64_offset, layout.fmt_end, new_data_offset, 0, layout.is_rf64)
        file_end = new_data_offset + data_size
        os.ftruncate(fd, file_end)
        if data_size & 1:
            pwrite(fd, b"\0", file_end)
        layout = update_sizes(fd, layout, data_size)
        os.fsync(fd)
        if removable is not None and collapse_range(fd, *removable):
            layout = WavLayout(layout.fmt, layout.ds64_offset, layout.fmt_end, new_data_offset - removable[1], 0,
                               layout.is_rf64)
            layout = update_sizes(fd, layout, data_size)
            os.fsync(fd)
        return layout
    finally:
        os.close(fd)


def copy_range(src: Path, dst: Path, start: int, end: int) -> WavLayout:
    """Write frames [start, end) of ``src`` to a new file ``dst`` (created exclusively)."""
    with WavSource(src) as source:
        os.close(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), NEW_FILE_MODE))
        return copy_wav_range(source, start, end, dst, preallocate=False)
