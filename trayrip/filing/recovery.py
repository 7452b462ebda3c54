"""Finding and filing recordings left unfinished by a crash or a kill (any thread).

A capture file is locked (``flock``) by the process writing it, so a
leftover is one nobody holds. Its header may lag the data by up to a second;
recovery sets the sizes from the file length (dropping a partial last
frame), measures the silence over the file in blocks, and files it like any
other recording. A file that cannot be repaired is reported and left in
place; an empty one is removed, and that is reported too.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import FilingError
from .finish import PART_PREFIX, PART_SUFFIX, FiledRecording, finish_wav, timestamp_stem
from .naming import clock_duration
from ..recording.locking import try_lock
from ..recording.loudness import LoudnessMeter
from ..recording.silence import SilenceSettings, SilenceTracker
from ..wav.layout import read_layout, update_sizes
from ..wav.fileio import pread

__all__ = ["find_leftovers", "recover_file", "recover_all", "RecoveryReport"]

log = logging.getLogger(__name__)

_STAMP = re.compile(re.escape(PART_PREFIX) + r"(\d{8}-\d{6})")
_BLOCK = 1 << 20


@dataclass(frozen=True)
class RecoveryReport:
    """What happened to one leftover."""

    part: Path
    filed: FiledRecording | None = None
    problem: str | None = None  # why it could not be filed (the file stays where it is)
    removed_empty: bool = False

    @property
    def message(self) -> str:
        """One line for people."""
        if self.filed is not None:
            return f"recovered an unfinished recording ({clock_duration(self.filed.duration)}): {self.filed.path}"
        if self.removed_empty:
            return f"removed an empty capture file with no audio: {self.part}"
        return f"could not recover {self.part}: {self.problem}"


def find_leftovers(folders: Iterable[Path]) -> list[Path]:
    """Capture files in ``folders`` that no running trayrip is writing."""
    found = []
    for folder in dict.fromkeys(Path(f).expanduser() for f in folders):
        if not folder.is_dir():
            continue
        for part in sorted(folder.glob(f"{PART_PREFIX}*{PART_SUFFIX}")):
            try:
                fd = os.open(part, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            except OSError:
                continue
            try:
                if try_lock(fd):
                    found.append(part)
            finally:
                os.close(fd)
    return found


def _stem_for(part: Path) -> str:
    m = _STAMP.match(part.name)
    when = None
    if m:
        try:
            when = dt.datetime.strptime(m.group(1), "%Y%m%d-%H%M%S")
        except ValueError:
            when = None
    return f"{timestamp_stem(when or dt.datetime.fromtimestamp(part.stat().st_mtime))} (recovered)"


def recover_file(part: Path, silence: SilenceSettings | None = None, trim: bool = True) -> RecoveryReport:
    """Repair, trim and file one leftover capture file."""
    try:
        fd = os.open(part, os.O_RDWR | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        return RecoveryReport(part, problem=f"cannot open: {exc.strerror}")
    try:
        if not try_lock(fd):
            return RecoveryReport(part, problem="another trayrip is still writing it")
        size = os.fstat(fd).st_size
        try:
            layout = read_layout(fd, size)
        except ValueError as exc:
            if size > 128:
                return RecoveryReport(part, problem=f"damaged header ({exc}); left in place")
            layout = None  # a header torn by a crash during the very first write: no audio
        bpf = layout.fmt.bytes_per_frame if layout else 1
        data = (size - layout.data_offset) // bpf * bpf if layout else 0
        if data <= 0:
            os.close(fd)
            fd = -1
            part.unlink()
            log.info("removed %s: a capture file with no audio", part)
            return RecoveryReport(part, removed_empty=True)
        os.ftruncate(fd, layout.data_offset + data)
        layout = update_sizes(fd, layout, data, layout.data_offset + data)
        os.fsync(fd)
        tracker = SilenceTracker(layout.fmt.rate, layout.fmt.channels, layout.fmt.sample_width, silence)
        meter = LoudnessMeter(layout.fmt.rate, layout.fmt.channels, layout.fmt.sample_width)  # the same one pass
        block = _BLOCK // bpf * bpf
        for offset in range(layout.data_offset, layout.data_offset + data, block):
            chunk = pread(fd, min(block, layout.data_offset + data - offset), offset)
            tracker.feed(chunk)
            meter.feed(chunk)
        keep = tracker.trim_range() if trim else None
        if os.name == "nt":  # Windows cannot rename an open file; elsewhere the lock is held until filed
            os.close(fd)
            fd = -1
        try:
            filed = finish_wav(part, keep, folder=part.parent, stem=_stem_for(part))
        except (FilingError, OSError, ValueError) as exc:
            return RecoveryReport(part, problem=f"could not be filed: {exc}")
    finally:
        if fd >= 0:
            os.close(fd)
    _tag_loudness(filed.path, meter)
    log.info("recovered an unfinished recording: %s (%s)", filed.path, clock_duration(filed.duration))
    return RecoveryReport(part, filed=filed)


def _tag_loudness(path: Path, meter: LoudnessMeter) -> None:
    """ReplayGain tags on a recovered file, as on any other; a recovered file without them is still recovered."""
    from .replaygain import ReplayGain
    from .tags import write_replaygain

    gain = ReplayGain(meter.result())
    if gain.usable:
        try:
            write_replaygain(path, "wav", gain)
        except FilingError as exc:
            log.warning("%s", exc)


def recover_all(folders: Iterable[Path], silence: SilenceSettings | None = None, trim: bool = True) -> list[RecoveryReport]:
    """Recover every leftover in ``folders``."""
    return [recover_file(p, silence, trim) for p in find_leftovers(folders)]
