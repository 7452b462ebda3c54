"""``schedules.toml`` in the config folder: load, validate, save; and the last run of each (caller's thread).

The file is a list of ``[[schedule]]`` tables::

    timezone = "Europe/Berlin"      # optional; default: the computer's zone

    [[schedule]]
    name = "Jazz hour"              # used in the file name ({title})
    when = "Mon,Thu 20:00"          # or "2026-12-24T18:00", "daily 07:30", "weekdays 18:00"
    for = "1h"                      # or until = "21:00"
    enabled = true
    app = "firefox"                 # any recording setting of config.toml: app, device, format,
                                    # folder, name_template, split, tracks, trim, bits, rate ...

Loading is like the config's: an entry with a problem is left out and the
problem names its line; the other entries are kept. A file with problems is
never written over (the CLI says which line to fix first).

When each entry last started (or was reported missed) is trayrip's own
state, kept apart in ``schedule-runs.json`` so the user's file is written
only when the user asks.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import secrets
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..config import Config, ConfigError, toml_value, config_path, validate_value
from .rules import Length, ScheduleError, When, Window, next_window, parse_length, parse_when, windows_between, zone

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["Entry", "Schedules", "ScheduleStore", "RunLog", "schedules_path", "overlaps", "OPTION_KEYS"]

log = logging.getLogger(__name__)

# The recording settings an entry may set (everything else about a recording comes from config.toml).
OPTION_KEYS = (
    "app", "device", "format", "folder", "name_template", "split", "tracks", "trim",
    "threshold_db", "bits", "rate", "min_track", "keep_partial", "stop_on_silence",
)
_OWN_KEYS = ("id", "name", "when", "for", "until", "enabled", "created")
DEFAULT_TEMPLATE = "{title} {date} {time}"


def schedules_path() -> Path:
    """``schedules.toml`` beside ``config.toml`` (computed when called)."""
    return config_path().with_name("schedules.toml")


@dataclass(frozen=True)
class Entry:
    """One schedule: when, how long, which recording settings; ``line`` is where it starts in the file."""

    id: str
    name: str
    when: When
    length: Length
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    created: dt.datetime | None = None
    line: int = 0

    def describe(self) -> str:
        return f"{self.when.text()} for {self.length.text()}" if self.length.seconds else f"{self.when.text()} {self.length.text()}"

    def config(self, base: Config) -> Config:
        """The settings a run uses: ``base`` (config.toml) with this entry's own on top."""
        values = dict(self.options)
        if not values.get("name_template") and self.name:
            values["name_template"] = DEFAULT_TEMPLATE
        return replace(base, **values)

    def recording_options(self, base: Config) -> Any:
        """The :class:`trayrip.api.RecordingOptions` of a run, titled with the entry's name."""
        return replace(self.config(base).recording_options(), title=self.name)

    def next_window(self, after: dt.datetime, tz: dt.tzinfo) -> Window | None:
        return next_window(self.when, self.length, after, tz)


@dataclass(frozen=True)
class Schedules:
    """What loading found: the usable entries (file order), the zone, the problems (one line each)."""

    entries: tuple[Entry, ...] = ()
    tz: dt.tzinfo = dt.timezone.utc
    timezone: str = ""
    problems: tuple[str, ...] = ()
    exists: bool = False


def _header_lines(text: str) -> list[int]:
    return [i + 1 for i, line in enumerate(text.splitlines()) if re.match(r"^\s*\[\[\s*schedule\s*\]\]", line)]


def _key_line(text: str, start: int, key: str) -> int:
    lines = text.splitlines()
    for i in range(start, len(lines)):
        if i >= start and re.match(r"^\s*\[", lines[i]) and i + 1 != start:
            break
        if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", lines[i]):
            return i + 1
    return start


def entry_from(data: dict[str, Any], line: int = 0) -> Entry:
    """Validate one ``[[schedule]]`` table; raises ScheduleError naming the key."""
    if not isinstance(data, dict):
        raise ScheduleError("each schedule must be a [[schedule]] table")
    for key in data:
        if key not in _OWN_KEYS and key not in OPTION_KEYS:
            raise ScheduleError(f"unknown key {key!r}; known: {', '.join(_OWN_KEYS + OPTION_KEYS)}", )
    name = data.get("name", "")
    if not isinstance(name, str) or "\x00" in name:
        raise ScheduleError(f"name: must be a string in quotes, not {name!r}")
    when_text = data.get("when")
    if not isinstance(when_text, str):
        raise ScheduleError("when: missing; write e.g. when = \"Mon,Thu 20:00\" or when = \"2026-12-24T18:00\"")
    try:
        when = parse_when(when_text)
    except ScheduleError as exc:
        raise ScheduleError(f"when: {exc}") from None
    for_ = data.get("for")
    if for_ is not None and not isinstance(for_, (str, int, float)) or isinstance(for_, bool):
        raise ScheduleError(f"for: {for_!r} is not a length like \"1h\"")
    until = data.get("until")
    if until is not None and not isinstance(until, str):
        until = str(until)  # TOML times and datetimes
    try:
        length = parse_length(when, for_, until)
    except ScheduleError as exc:
        raise ScheduleError(f"{'for' if for_ is not None else 'until'}: {exc}") from None
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ScheduleError(f"enabled: must be true or false, not {enabled!r}")
    created = data.get("created")
    if isinstance(created, str):
        try:
            created = dt.datetime.fromisoformat(created)
        except ValueError:
            raise ScheduleError(f"created: {created!r} is not a date and time") from None
    if created is not None and (not isinstance(created, dt.datetime) or created.tzinfo is None):
        raise ScheduleError(f"created: {created!r} must be a date and time with an offset")
    options: dict[str, Any] = {}
    for key in OPTION_KEYS:
        if key in data:
            try:
                options[key] = validate_value(key, data[key])
            except ConfigError as exc:
                raise ScheduleError(str(exc)) from None
    ident = data.get("id") or ""
    if not isinstance(ident, str):
        raise ScheduleError(f"id: must be a string, not {ident!r}")
    return Entry(ident or f"line{line}", name, when, length, enabled, options, created, line)


class RunLog:
    """When each entry last started, was refused or was reported missed (``schedule-runs.json``)."""

    def __init__(self, path: Path):
        self.path = path
        self._runs: dict[str, str] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):
                self._runs = {str(k): str(v) for k, v in data.items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); schedules count from now", path, exc)

    def last(self, ident: str) -> dt.datetime | None:
        try:
            return dt.datetime.fromisoformat(self._runs[ident])
        except (KeyError, ValueError):
            return None

    def mark(self, ident: str, start: dt.datetime) -> None:
        self._runs[ident] = start.isoformat()
        _write_atomic(self.path, json.dumps(self._runs, indent=1, sort_keys=True) + "\n")

    def forget(self, ident: str) -> None:
        if self._runs.pop(ident, None) is not None:
            _write_atomic(self.path, json.dumps(self._runs, indent=1, sort_keys=True) + "\n")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0o644
    os.chmod(tmp, mode & ~0o002)
    os.replace(tmp, path)


class ScheduleStore:
    """Reads and writes one ``schedules.toml`` (default: beside config.toml)."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else schedules_path()
        self.runs_path = self.path.with_name("schedule-runs.json")

    def mtime_ns(self) -> int | None:
        try:
            return self.path.stat().st_mtime_ns
        except OSError:
            return None

    def load(self) -> Schedules:
        """Read the file; each bad entry becomes a problem naming its line, the rest are kept. Never writes."""
        name = self.path.name
        try:
            text = self.path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            return Schedules(tz=zone())
        except (OSError, UnicodeDecodeError) as exc:
            return Schedules(tz=zone(), problems=(f"cannot read {self.path}: {exc}; no schedules run",), exists=True)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            return Schedules(tz=zone(), problems=(f"{self.path} is not valid TOML ({exc}); no schedules run",), exists=True)
        problems: list[str] = []
        tzname = data.get("timezone", "")
        try:
            tz = zone(tzname if isinstance(tzname, str) else "")
        except ScheduleError as exc:
            problems.append(f"{name} line {_key_line(text, 0, 'timezone')}: timezone: {exc}; using the computer's zone")
            tz, tzname = zone(), ""
        for key in data:
            if key not in ("timezone", "schedule"):
                problems.append(f"{name} line {_key_line(text, 0, key)}: unknown key {key!r} (ignored)")
        tables = data.get("schedule", [])
        if not isinstance(tables, list):
            tables = []
            problems.append(f"{name}: 'schedule' must be a list of [[schedule]] tables")
        headers = _header_lines(text)
        entries: list[Entry] = []
        seen: set[str] = set()
        for i, table in enumerate(tables):
            line = headers[i] if i < len(headers) else 0
            try:
                entry = entry_from(table, line)
            except ScheduleError as exc:
                key = str(exc).split(":", 1)[0]
                where = _key_line(text, line, key) if line and isinstance(table, dict) and key in table else line
                problems.append(f"{name} line {where}: {exc}; this schedule is left out")
                continue
            if entry.id in seen:
                entry = replace(entry, id=f"{entry.id}-line{line}")
            seen.add(entry.id)
            entries.append(entry)
        return Schedules(tuple(entries), tz, tzname if isinstance(tzname, str) else "", tuple(problems), True)

    def save(self, schedules: Schedules) -> None:
        """Write the entries (atomic). Refuses a file that has problems, so nothing of the user's is lost."""
        current = self.load()
        if current.problems:
            raise ScheduleError(
                "the schedules file has problems; fix them first so nothing in it is lost:\n  " + "\n  ".join(current.problems)
            )
        _write_atomic(self.path, to_toml(schedules))
        log.info("saved %d schedule(s) to %s", len(schedules.entries), self.path)


def to_toml(schedules: Schedules) -> str:
    """The file's text."""
    lines = [
        "# trayrip schedules: `trayrip schedule add/list/remove` edits this file; editing by hand is fine too.",
        "# when: \"Mon,Thu 20:00\", \"daily 07:30\", \"weekdays 18:00\" or \"2026-12-24T18:00\";",
        "# for = \"1h\" or until = \"21:00\"; other keys are recording settings as in config.toml.",
    ]
    if schedules.timezone:
        lines.append(f"timezone = {toml_value(schedules.timezone)}")
    for e in schedules.entries:
        lines += ["", "[[schedule]]", f"id = {toml_value(e.id)}", f"name = {toml_value(e.name)}",
                  f"when = {toml_value(e.when.text())}"]
        if e.length.seconds is not None:
            lines.append(f"for = {toml_value(e.length.text())}")
        elif e.length.until_at is not None:
            lines.append(f"until = {toml_value(e.length.until_at.isoformat(timespec='minutes'))}")
        else:
            lines.append(f"until = {toml_value(e.length.until.strftime('%H:%M'))}")  # type: ignore[union-attr]
        lines.append(f"enabled = {toml_value(e.enabled)}")
        if e.created is not None:
            lines.append(f"created = {toml_value(e.created.isoformat(timespec='seconds'))}")
        for key, value in e.options.items():
            lines.append(f"{key} = {toml_value(value)}")
    return "\n".join(lines) + "\n"


def new_id() -> str:
    return secrets.token_hex(4)


def overlaps(entry: Entry, others: tuple[Entry, ...], now: dt.datetime, tz: dt.tzinfo) -> tuple[Entry, Window] | None:
    """The first enabled other entry whose runs overlap ``entry``'s (looking ahead a year), or None.

    Runs of one schedule overlapping each other (a daily run longer than a
    day) count too: two recordings cannot run at once.
    """
    horizon = now + dt.timedelta(days=366)
    mine = list(windows_between(entry.when, entry.length, now, horizon, tz))
    for a, b in zip(mine, mine[1:]):
        if a.overlaps(b):
            return entry, b
    if not mine:
        return None
    last_end = max(w.end for w in mine)
    for other in others:
        if not other.enabled or other.id == entry.id:
            continue
        theirs = windows_between(other.when, other.length, now - dt.timedelta(days=8), last_end, tz)
        i = 0
        for w in theirs:
            while i < len(mine) and mine[i].end <= w.start:
                i += 1
            if i == len(mine):
                break
            if any(m.overlaps(w) for m in mine[i:i + 2]):
                return other, w
    return None
