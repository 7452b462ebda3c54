"""Copying a frame range of a WAV/RF64 file into a new WAV (filer thread, offline tools).

The samples are copied by the kernel where it can (``os.copy_file_range``):
nothing passes through Python, and the cost is O(kept bytes), no memory.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ..errors import FilingError
from .fileio import preadv, pwrite
from .layout import MAX_RIFF, WavLayout, build_header, update_sizes
from .reader import WavSource

__all__ = ["copy_wav_range"]

_COPY_CHUNK = 1 << 24


def _copy_bytes(sfd: int, dfd: int, src_off: int, dst_off: int, count: int) -> int:
    """Copy ``count`` bytes between files; in the kernel where it can."""
    done = 0
    use_kernel = hasattr(os, "copy_file_range")
    buf = None
    while done < count:
        n = min(_COPY_CHUNK, count - done)
        if use_kernel:
            try:
                got = os.copy_file_range(sfd, dfd, n, src_off + done, dst_off + done)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM):
                    raise
                use_kernel = False
                continue
        else:
            if buf is None:
                buf = bytearray(min(1 << 20, count))
            view = memoryview(buf)[: min(n, len(buf))]
            got = preadv(sfd, [view], src_off + done)
            if got:
                pwrite(dfd, view[:got], dst_off + done)
        if got <= 0:
            break
        done += got
    return done


def copy_wav_range(
    src: WavSource, start: int, end: int, dst: Path, *, limit: int = MAX_RIFF, sync: bool = True, preallocate: bool = True
) -> WavLayout:
    """Write frames [start, end) of ``src`` as a new WAV (RF64 past 4 GiB) into the existing file ``dst``.

    The samples are copied by the kernel where it can (no user-space buffer).
    ``preallocate`` reserves the space first (a full disk fails at once, and
    ext4 writes faster); ``sync`` makes the file durable before returning.
    """
    fmt = src.format
    bpf = fmt.bytes_per_frame
    end = max(0, min(end, src.frames))
    start = max(0, min(start, end))
    header = build_header(fmt)
    want = (end - start) * bpf
    fd = os.open(dst, os.O_RDWR | os.O_TRUNC | getattr(os, "O_BINARY", 0))
    try:
        if preallocate and want and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, len(header) + want + (want & 1))
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise FilingError(f"not enough disk space in {Path(dst).parent} for {want / 1e6:.0f} MB") from None
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    raise
        pwrite(fd, header, 0)
        got = _copy_bytes(src.fd, fd, src.layout.data_offset + start * bpf, len(header), want)
        if got != want:
            raise FilingError(f"{src.path.name} ended early while copying ({got} of {want} bytes)")
        if got & 1:
            pwrite(fd, b"\0", len(header) + got)
        os.ftruncate(fd, len(header) + got + (got & 1))
        layout = WavLayout(fmt, 12, len(header) - 8, len(header), 0, False)
        layout = update_sizes(fd, layout, got, limit=limit)
        if sync:
            os.fsync(fd)
        return layout
    finally:
        os.close(fd)
