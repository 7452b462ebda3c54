"""Crash-safe incremental WAV writer (recorder thread).

Samples are appended as they arrive; the header sizes are rewritten at least
once a second and the data flushed to disk, so a copy taken at any moment --
or the file left behind by a crash -- plays up to about a second before. Past
4 GiB the same file turns into RF64 in place.
"""
from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path

from ..capture.base import AudioFormat
from ..errors import FilingError
from .locking import try_lock
from ..wav.layout import MAX_RIFF, WavLayout, build_header, update_sizes
from ..wav.fileio import NEW_FILE_MODE

__all__ = ["WavWriter"]

log = logging.getLogger(__name__)


class WavWriter:
    """Appends PCM bytes to a new file; never overwrites an existing one."""

    def __init__(
        self, path: Path, fmt: AudioFormat, sync_interval: float = 1.0, clock=time.monotonic, rf64_limit: int = MAX_RIFF
    ):
        self.path = Path(path)
        self.fmt = fmt
        self.sync_interval = sync_interval
        self.rf64_limit = rf64_limit
        self._clock = clock
        header = build_header(fmt)
        try:
            # O_EXCL: never clobber; the umask decides the mode, but never world-writable.
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), NEW_FILE_MODE)
        except FileExistsError:
            raise FilingError(f"{self.path} already exists; not overwriting it") from None
        except OSError as exc:
            raise FilingError(f"cannot create {self.path}: {exc.strerror}") from None
        self._lock_fd = -1
        self._short = 0
        try:
            # Held while we write (and, with close(keep_lock=True), until filed): recovery leaves the file alone.
            if not try_lock(self._fd):
                log.warning("%s is locked by another process", self.path.name)
        except OSError as exc:  # e.g. ENOLCK on some network filesystems: record anyway
            log.warning("cannot lock %s (%s); recovery could mistake it for a leftover", self.path.name, exc.strerror)
        self._layout = WavLayout(fmt, 12, len(header) - 8, len(header), 0, False)
        self.data_bytes = 0
        self._synced_bytes = 0
        self._last_sync = clock()
        try:
            self._write_all(header)
        except FilingError:
            os.close(self._fd)
            self._fd = -1
            self.path.unlink(missing_ok=True)
            raise

    @property
    def frames(self) -> int:
        return self.data_bytes // self.fmt.bytes_per_frame

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def _write_all(self, data: bytes | memoryview) -> int:
        """Write everything or raise FilingError; ``self._short`` says how much got in before the failure."""
        view = memoryview(data)
        done = 0
        while done < len(view):
            try:
                done += os.write(self._fd, view[done:])
            except OSError as exc:
                self._short = done
                if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    raise FilingError(f"the disk holding {self.path.parent} is full ({exc.strerror})") from exc
                raise FilingError(f"writing {self.path.name} failed: {exc.strerror}") from exc
        return done

    def write(self, data: bytes | memoryview) -> None:
        """Append whole frames; refreshes the header when the sync interval has passed.

        If the write fails (disk full) the whole frames that did get in are
        kept and the file is cut back to them: it holds exactly what
        ``data_bytes`` says and no partial garbage.
        """
        try:
            self._write_all(data)
        except FilingError:
            self.data_bytes += self._short - self._short % self.fmt.bytes_per_frame
            try:
                os.ftruncate(self._fd, self._layout.data_offset + self.data_bytes)
                os.lseek(self._fd, 0, os.SEEK_END)
            except OSError as exc:
                log.warning("could not cut %s back after a failed write: %s", self.path.name, exc)
            raise
        self.data_bytes += len(data)
        if self._clock() - self._last_sync >= self.sync_interval:
            self.sync()

    def sync(self) -> None:
        """Make everything written so far readable from the file, and durable."""
        if self._synced_bytes == self.data_bytes:
            self._last_sync = self._clock()
            return
        was_rf64 = self._layout.is_rf64
        # Sizes cover only what is already in the file, so a reader never sees a promise.
        self._layout = update_sizes(
            self._fd, self._layout, self.data_bytes, self._layout.data_offset + self.data_bytes, self.rf64_limit
        )
        if self._layout.is_rf64 and not was_rf64:
            log.info("%s passed 4 GiB; continuing as RF64", self.path.name)
        try:
            os.fdatasync(self._fd) if hasattr(os, "fdatasync") else os.fsync(self._fd)
        except OSError as exc:
            raise FilingError(f"syncing {self.path.name} failed: {exc.strerror}") from exc
        self._synced_bytes = self.data_bytes
        self._last_sync = self._clock()

    def close(self, keep_lock: bool = False) -> WavLayout:
        """Final header (and RIFF pad byte); returns the layout of the finished file.

        With ``keep_lock`` the lock stays until :meth:`release` (POSIX; Windows
        cannot rename an open file), so nobody recovers the file while it is filed.
        """
        if self._fd < 0:
            return self._layout
        try:
            # Sizes first: if even the pad byte does not fit, the header still covers every sample.
            end = self._layout.data_offset + self.data_bytes
            self._layout = update_sizes(self._fd, self._layout, self.data_bytes, end, limit=self.rf64_limit)
            if self.data_bytes & 1:
                self._write_all(b"\0")
                self._layout = update_sizes(self._fd, self._layout, self.data_bytes, limit=self.rf64_limit)
            os.fsync(self._fd)
        finally:
            if keep_lock and os.name != "nt":
                self._lock_fd = self._fd
            else:
                os.close(self._fd)
            self._fd = -1
        return self._layout

    def release(self) -> None:
        """Drop the lock kept by ``close(keep_lock=True)``."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def abort(self, keep_lock: bool = False) -> None:
        """Close without raising (used while handling another error)."""
        try:
            self.close(keep_lock)
        except (OSError, FilingError) as exc:
            log.warning("closing %s after an error also failed: %s", self.path.name, exc)
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
