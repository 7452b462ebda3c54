"""Positioned reads and writes that also work where ``os.pread``/``os.pwrite`` do not exist (Windows).

On POSIX these are the ``os`` functions themselves. The fallback seeks,
does the I/O and seeks back, so a descriptor's append position is kept;
each descriptor is used by one thread at a time in trayrip.
"""
from __future__ import annotations

import errno
import os

__all__ = ["pread", "pwrite", "preadv", "collapse_range", "NEW_FILE_MODE", "NEW_DIR_MODE"]


def _pread(fd: int, n: int, offset: int) -> bytes:
    here = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, n)
    finally:
        os.lseek(fd, here, os.SEEK_SET)


def _pwrite(fd: int, data: bytes | memoryview, offset: int) -> int:
    here = os.lseek(fd, 0, os.SEEK_CUR)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.write(fd, data)
    finally:
        os.lseek(fd, here, os.SEEK_SET)


def _preadv(fd: int, buffers: list, offset: int) -> int:
    total = 0
    for buf in buffers:
        view = memoryview(buf).cast("B")
        data = _pread(fd, len(view), offset + total)
        view[: len(data)] = data
        total += len(data)
        if len(data) < len(view):
            break
    return total


pread = getattr(os, "pread", _pread)
preadv = getattr(os, "preadv", _preadv)
_pwrite_once = getattr(os, "pwrite", _pwrite)


def pwrite(fd: int, data: bytes | memoryview, offset: int) -> int:
    """Write all of ``data`` at ``offset``, or raise OSError.

    A write may be cut short (a full disk takes what fits in its last block
    first); a caller that went on as if it had all gone in would leave zeros
    behind once it sets the file's length.
    """
    view = memoryview(data).cast("B")
    done = 0
    while done < len(view):
        n = _pwrite_once(fd, view[done:], offset + done)
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done += n
    return done

# New recordings and folders: the user's umask decides, but never writable by everyone.
NEW_FILE_MODE = 0o664
NEW_DIR_MODE = 0o775


_FALLOC_FL_COLLAPSE_RANGE = 0x08


def collapse_range(fd: int, offset: int, length: int) -> bool:
    """Remove bytes [offset, offset+length) from the file, shifting the rest down, in O(1).

    Linux ``fallocate(FALLOC_FL_COLLAPSE_RANGE)`` (ext4, XFS, F2FS; offset and
    length in whole filesystem blocks). False where it is not supported
    (other systems, tmpfs, Btrfs, network filesystems); the file is then unchanged.
    """
    import sys

    if not sys.platform.startswith("linux") or length <= 0:
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fallocate = libc.fallocate
    except (OSError, AttributeError):
        return False
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
    return fallocate(fd, _FALLOC_FL_COLLAPSE_RANGE, offset, length) == 0
