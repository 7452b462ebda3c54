"""What is already in the target folder tree, by artist + title (filer thread).

:class:`LibraryIndex` is built once per ``--tracks`` session (one walk of the
tree, tags read with mutagen, else the ``NN Artist - Title`` file name), then
asked once per track. :func:`decide` applies the ``duplicates`` setting.
"""
from __future__ import annotations

import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DUPLICATE_MODES", "LibraryIndex", "Existing", "normalise", "decide", "made_by_trayrip"]

log = logging.getLogger(__name__)

DUPLICATE_MODES = ("keep-both", "skip", "keep-longer")
_AUDIO = (".wav", ".flac", ".mp3", ".ogg", ".opus")
_NAME = re.compile(r"^\s*\d+\s+(?P<artist>.+?)\s+-\s+(?P<title>.+?)(?:\s+\(partial\))?(?:\s+\(\d+\))?\s*$")


def normalise(artist: str, title: str) -> str:
    """One key for "the same song": case, accents, punctuation and spacing do not count."""
    text = unicodedata.normalize("NFKD", f"{artist}\x00{title}")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"[^\w\x00]+", " ", text)
    return " ".join(text.replace("\x00", " \x00 ").split())


@dataclass(frozen=True)
class Existing:
    path: Path
    seconds: float
    ours: bool  # written by trayrip (its encoder tag): the only kind keep-longer may remove


def _first(tags, *keys: str) -> str:
    for key in keys:
        try:
            value = tags.get(key)
        except (KeyError, ValueError):
            value = None
        if value:
            text = value.text[0] if hasattr(value, "text") else value[0] if isinstance(value, list) else value
            return str(text)
    return ""


def made_by_trayrip(tags) -> bool:
    return _first(tags, "encoder", "ENCODER", "TSSE").startswith("trayrip")


def _describe(path: Path) -> tuple[str, str, float, bool] | None:
    """(artist, title, seconds, ours) of an audio file, from its tags or its name; None when unknown."""
    artist = title = ""
    seconds, ours = 0.0, False
    try:
        import mutagen

        audio = mutagen.File(str(path))
    except Exception as exc:  # noqa: BLE001 - an unreadable file is simply not in the index
        log.debug("%s: %s", path, exc)
        audio = None
    if audio is not None:
        seconds = float(getattr(audio.info, "length", 0.0) or 0.0)
        if audio.tags is not None:
            artist = _first(audio.tags, "artist", "ARTIST", "TPE1")
            title = _first(audio.tags, "title", "TITLE", "TIT2")
            ours = made_by_trayrip(audio.tags)
    if not title:
        m = _NAME.match(path.stem)
        if m is None:
            return None
        artist, title = m.group("artist"), m.group("title")
    return artist, title, seconds, ours


@dataclass
class LibraryIndex:
    """Artist + title → the files that hold it, for one folder tree."""

    root: Path
    entries: dict[str, list[Existing]] = field(default_factory=dict)

    @classmethod
    def build(cls, root: Path) -> LibraryIndex:
        index = cls(Path(root))
        count = 0
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in files:
                if name.startswith(".") or not name.lower().endswith(_AUDIO):
                    continue
                path = Path(folder) / name
                described = _describe(path)
                if described is not None:
                    artist, title, seconds, ours = described
                    index.add(artist, title, Existing(path, seconds, ours))
                    count += 1
        log.info("%d tracks already in %s", count, root)
        return index

    def add(self, artist: str, title: str, existing: Existing) -> None:
        self.entries.setdefault(normalise(artist, title), []).append(existing)

    def find(self, artist: str, title: str) -> list[Existing]:
        return list(self.entries.get(normalise(artist, title), ()))


def decide(mode: str, existing: list[Existing], seconds: float) -> tuple[bool, list[Existing]]:
    """(file the new track?, existing copies to remove once it is filed) for the ``duplicates`` mode."""
    if mode not in DUPLICATE_MODES:
        raise ValueError(f"duplicates must be one of {', '.join(DUPLICATE_MODES)}, not {mode!r}")
    if not existing or mode == "keep-both":
        return True, []
    if mode == "skip":
        return False, []
    longest = max(e.seconds for e in existing)
    if longest >= seconds - 0.5:  # the copy we have is as long (within half a second): keep it
        return False, []
    return True, [e for e in existing if e.ours]
