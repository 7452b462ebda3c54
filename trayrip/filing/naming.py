"""File names from templates, safe on every OS (any thread; stdlib only).

A template is text with ``{field}`` placeholders, for example
``"{date} {time} {title}"``. Fields:

=========  ==========================================================
date       start date, ``2024-05-01``
time       start time, ``21-30-05`` (no colons: Windows forbids them)
counter    the lowest number (1, 2, ...) giving a free name; takes a
           format spec such as ``{counter:03d}``
duration   length of the filed audio, ``3m25s`` / ``1h02m03s``
device     what was recorded (the capture source's description)
title      the title given by the user, or the track's title (``--tracks``)
=========  ==========================================================

With ``--tracks`` the player's metadata adds ``artist``, ``album``,
``albumartist``, ``track`` and ``disc`` (numbers; ``{track:02}`` pads) and
``{date}`` in a track's name is its release date when the player knows it.

A ``/`` written in the template itself starts a subfolder (one folder per
recording: ``"{date}/{time} {title}"``); separators that come from field
values never do. Every path component is sanitised for Windows, macOS and
Linux (reserved names, forbidden characters, trailing dots, length), and the
joined path is checked to stay inside the target folder.
"""
from __future__ import annotations

import datetime as _dt
import re
import string
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import FilingError

__all__ = [
    "DEFAULT_TEMPLATE",
    "FIELDS",
    "MAX_COMPONENT_BYTES",
    "NameFields",
    "format_duration",
    "validate_template",
    "uses_counter",
    "render",
    "sanitize_component",
    "contained_path",
]

DEFAULT_TEMPLATE = "{date} {time}"
FIELDS = ("date", "time", "counter", "duration", "device", "title", "artist", "album", "albumartist", "track", "disc")
_NUMBERS = ("counter", "track", "disc")  # fields that take a format spec such as {track:02}
FALLBACK_NAME = "recording"

# ext4/btrfs/APFS allow 255 bytes per name, NTFS 255 UTF-16 units. Leave room
# for " (12345)", a "NN " track prefix, ".flac" and ".part".
MAX_COMPONENT_BYTES = 200

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{p}{d}" for p in ("COM", "LPT") for d in "123456789¹²³"
}


@dataclass(frozen=True)
class NameFields:
    """Values for the template fields of one recording."""

    when: _dt.datetime
    duration: float = 0.0
    device: str = ""
    title: str = ""
    artist: str = ""
    album: str = ""
    albumartist: str = ""
    track: int | None = None
    disc: int | None = None
    released: str = ""  # the track's date, from the player

    def values(self, counter: int) -> dict[str, object]:
        return {
            "date": self.released or self.when.strftime("%Y-%m-%d"),
            "time": self.when.strftime("%H-%M-%S"),
            "counter": counter,
            "duration": format_duration(self.duration),
            "device": self.device or "",
            "title": self.title or "",
            "artist": self.artist or "",
            "album": self.album or "",
            "albumartist": self.albumartist or "",
            "track": self.track if self.track is not None else "",
            "disc": self.disc if self.disc is not None else "",
        }


def clock_duration(seconds: float) -> str:
    """``0:05``, ``3:25`` or ``1:02:03``: how trayrip writes a length for people, everywhere."""
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def format_duration(seconds: float) -> str:
    """``3m25s``, ``1h02m03s`` or ``12s`` (file-name friendly)."""
    total = max(0, int(round(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m{s:02d}s"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


def _parse(template: str) -> list[tuple[str, str | None, str | None]]:
    try:
        return [(lit, name, spec) for lit, name, spec, _conv in string.Formatter().parse(template)]
    except ValueError as exc:
        raise ValueError(f"bad name template {template!r}: {exc}") from None


def validate_template(template: str) -> str:
    """Return ``template`` if it is usable, else raise ValueError naming the problem.

    Only plain field names are accepted (no ``{title.attr}`` or ``{0}``), so a
    template can never reach into Python objects.
    """
    if not isinstance(template, str) or not template.strip():
        raise ValueError("the name template is empty")
    if "\x00" in template:
        raise ValueError("the name template contains a NUL character")
    for _lit, name, spec in _parse(template):
        if name is None:
            continue
        if name not in FIELDS:
            choices = ", ".join(f"{{{f}}}" for f in FIELDS)
            raise ValueError(f"unknown field {{{name}}} in name template {template!r}; use {choices}")
        if spec and ("{" in spec or name not in _NUMBERS):
            raise ValueError(
                f"field {{{name}}} takes no format spec in {template!r} (only {{counter:03d}}, {{track:02}} and the like)"
            )
        if spec:
            try:
                format(1, spec)
            except ValueError:
                raise ValueError(f"bad format {{{name}:{spec}}} in name template {template!r}") from None
    return template


def uses_counter(template: str) -> bool:
    return any(name == "counter" for _lit, name, _spec in _parse(template))


def _value_text(value: object, spec: str | None) -> str:
    text = format(value, spec or "") if value != "" else ""
    # Separators inside values never make folders.
    return text.replace("/", "_").replace("\\", "_")


def render(template: str, fields: NameFields, counter: int = 1) -> list[str]:
    """Expand ``template`` to sanitised path components (the last one is the file stem)."""
    validate_template(template)
    values = fields.values(counter)
    out = []
    for lit, name, spec in _parse(template):
        out.append(lit.replace("\\", "/"))  # a literal separator in the template makes a folder
        if name is not None:
            out.append(_value_text(values[name], spec))
    *folders, stem = "".join(out).split("/")
    parts = [p for p in (sanitize_component(f) for f in folders) if p]
    return parts + [sanitize_component(stem) or FALLBACK_NAME]


def _truncate_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore")


def sanitize_component(text: str, max_bytes: int = MAX_COMPONENT_BYTES) -> str:
    """One file or folder name that every OS accepts; '' if nothing usable is left.

    Drops control characters and NUL, replaces ``<>:"/\\|?*`` with ``_``,
    collapses whitespace, strips leading dots (no hidden files, no ``..``) and
    trailing dots/spaces (Windows), prefixes reserved device names (``CON``,
    ``com1.txt``) with ``_`` and truncates to ``max_bytes`` of UTF-8.
    """
    text = unicodedata.normalize("NFC", str(text))
    text = _FORBIDDEN.sub(lambda m: "" if ord(m.group()) < 32 or m.group() == "\x7f" else "_", text)
    text = _SPACES.sub(" ", text).strip()
    text = text.lstrip(". ")
    text = _truncate_utf8(text, max_bytes)
    text = text.rstrip(". ")
    if not text:
        return ""
    base = text.split(".", 1)[0].rstrip(" ").upper()
    if base in _RESERVED:
        text = "_" + text
        text = _truncate_utf8(text, max_bytes).rstrip(". ")
    return text


def contained_path(root: Path, parts: list[str] | tuple[str, ...]) -> Path:
    """``root/parts...`` after checking that it cannot leave ``root`` (symlinks included)."""
    root_resolved = Path(root).resolve()
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\\" in part or "\x00" in part:
            raise FilingError(f"unsafe file name component {part!r}")
    candidate = Path(root).joinpath(*parts)
    resolved = candidate.resolve()
    if resolved == root_resolved or not resolved.is_relative_to(root_resolved):
        raise FilingError(f"{candidate} would leave the target folder {root}; not filing there")
    return candidate
