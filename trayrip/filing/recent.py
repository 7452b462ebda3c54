"""Which recordings were filed last, whoever filed them (the filing caller's thread; the tray's controller reads).

Every recording filed -- by the tray, ``trayrip record``, a schedule, the
Python API -- adds its files to a small journal, ``recent.txt`` in the
user's state folder (``~/.local/state/trayrip``; one absolute path a line,
newest last; one ``write`` of whole lines under 4 KiB with ``O_APPEND``, so
processes filing at the same time never mix their lines). The tray's "Recent
recordings" reads it, so it lists what a terminal or a schedule recorded
too, and album tracks filed into a sub-folder (shown as
``Album/01 Track.flac``). Files in the tray's folder that the journal does
not know (older recordings) follow, newest first. The journal is cut back to
its last lines when it grows. It lives outside the music folder: nothing is
added there but recordings.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

__all__ = ["AUDIO_SUFFIXES", "journal_path", "note_filed", "read_recent", "recent_label"]

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a")
_KEEP = 50  # lines kept when the journal is cut back
_CUT_BYTES = 8192  # about 100 lines of usual names


def journal_path() -> Path:
    """``recent.txt`` in the user's state folder (computed when called)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("trayrip", appauthor=False)) / "recent.txt"


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


def note_filed(paths: Iterable[Path], journal: Path | None = None) -> None:
    """Add ``paths`` (just filed, in track order) to the journal. Never raises."""
    journal = journal or journal_path()
    lines = [str(Path(p).resolve()).replace("\n", " ") + "\n" for p in paths]
    try:
        journal.parent.mkdir(parents=True, exist_ok=True)
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
    tmp = journal.with_name(journal.name + ".tmp")
    tmp.write_text("".join(line + "\n" for line in kept))
    os.replace(tmp, journal)


def read_recent(folder: Path | None, limit: int = 10, journal: Path | None = None) -> list[Path]:
    """The newest ``limit`` recordings that still exist, newest first: the journal's, then ``folder``'s."""
    found: list[Path] = []
    try:
        lines = (journal or journal_path()).read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        path = Path(line.strip()) if line.strip() else None
        if path is not None and path not in found and path.is_file():
            found.append(path)
            if len(found) >= limit:
                return found
    try:
        older = sorted(((e.stat().st_mtime, Path(e.path).resolve()) for e in os.scandir(folder)
                        if e.is_file() and not e.name.startswith(".") and e.name.lower().endswith(AUDIO_SUFFIXES)),
                       reverse=True) if folder is not None else []
    except OSError:
        older = []
    found += [p for _, p in older if p not in found]
    return found[:limit]


def recent_label(path: Path, folder: Path | None) -> str:
    """``01 Track.flac`` in ``folder``; elsewhere (an album's sub-folder, another folder) ``Album/01 Track.flac``."""
    if folder is not None and Path(path).parent.resolve() == Path(folder).resolve():
        return path.name
    return f"{path.parent.name}/{path.name}"
