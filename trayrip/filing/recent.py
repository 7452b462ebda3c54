"""Which recordings were filed last, whoever filed them (the filing caller's thread; the tray's controller reads).

Every recording filed into a folder -- by the tray, ``trayrip record``, a
schedule, the Python API -- adds its files to a small journal in that folder,
``.recent.trayrip`` (one path a line, relative to the folder, newest last;
one ``write`` of less than 4 KiB with ``O_APPEND``, so processes filing at
the same time never mix their lines). The tray's "Recent recordings" reads
it, so it lists what a terminal or a schedule recorded too, and album tracks
filed into a sub-folder (shown as ``Album/01 Track.flac``). Files in the
folder that the journal does not know (older recordings) follow, newest
first. The journal is cut back to its last lines when it grows.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

__all__ = ["JOURNAL", "AUDIO_SUFFIXES", "note_filed", "read_recent", "recent_label"]

log = logging.getLogger(__name__)

JOURNAL = ".recent.trayrip"  # not ".trayrip-*": those are capture files (recovery, cleanup)
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a")
_KEEP = 50  # lines kept when the journal is cut back
_CUT_BYTES = 8192  # about 100 lines of usual names


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(Path(path).resolve())


def _chunks(lines: list[str], size: int = 3500) -> Iterable[bytes]:
    """Whole lines in pieces under ``size`` bytes (appends under PIPE_BUF are not interleaved)."""
    piece = b""
    for line in lines:
        data = line.encode()
        if piece and len(piece) + len(data) > size:
            yield piece
            piece = b""
        piece += data
    if piece:
        yield piece


def note_filed(folder: Path, paths: Iterable[Path]) -> None:
    """Add ``paths`` (just filed, in track order) to ``folder``'s journal. Never raises."""
    journal = Path(folder) / JOURNAL
    lines = [_relative(p, Path(folder)).replace("\n", " ") + "\n" for p in paths]
    try:
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            for piece in _chunks(lines):
                os.write(fd, piece)
        finally:
            os.close(fd)
        if journal.stat().st_size > _CUT_BYTES:
            _cut_back(journal)
    except OSError as exc:  # the recording is filed; only the menu's list misses it
        log.info("cannot note the recording in %s: %s", journal, exc)


def _cut_back(journal: Path) -> None:
    kept = journal.read_text(errors="replace").splitlines()[-_KEEP:]
    tmp = journal.with_name(JOURNAL + ".tmp")
    tmp.write_text("".join(line + "\n" for line in kept))
    os.replace(tmp, journal)


def read_recent(folder: Path, limit: int = 10) -> list[Path]:
    """The newest ``limit`` recordings of ``folder`` that still exist, newest first."""
    folder = Path(folder)
    found: list[Path] = []
    try:
        lines = (folder / JOURNAL).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        path = folder / line.strip() if line.strip() else None
        if path is not None and path not in found and path.is_file():
            found.append(path)
            if len(found) >= limit:
                return found
    try:
        older = sorted(((e.stat().st_mtime, Path(e.path)) for e in os.scandir(folder)
                        if e.is_file() and not e.name.startswith(".") and e.name.lower().endswith(AUDIO_SUFFIXES)),
                       reverse=True)
    except OSError:
        older = []
    found += [p for _, p in older if p not in found]
    return found[:limit]


def recent_label(path: Path, folder: Path | None) -> str:
    """``01 Track.flac``, or ``Album/01 Track.flac`` for a track in a sub-folder of ``folder``."""
    if folder is not None and path.parent != folder:
        return f"{path.parent.name}/{path.name}"
    return path.name
