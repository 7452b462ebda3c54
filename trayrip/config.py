"""Settings: dataclass defaults, TOML load/validate/save (controller thread; stdlib + platformdirs).

The file is ``config.toml`` under ``platformdirs.user_config_dir("trayrip")``,
computed when asked (never at import). Every key is optional; a missing file
means all defaults.

A file with problems is never written over. Loading reports each problem
naming the key (bad keys fall back to their defaults; in a file that is
not valid TOML each broken line is named and skipped, the other lines still
count; an unknown key gets a "did you mean" for a close known one) and marks
the file *unclean*. The first save
after that -- a setting changed from the tray menu -- first renames the
user's file to ``config.toml.broken-YYYYmmdd-HHMMSS`` (a free name) and says
so; the new file then holds the settings in effect. Editing the file by hand
and choosing "Reload config file" is the other way out.

Writes are atomic (temporary file in the same folder, ``os.replace``); the
mode comes from the umask (an existing file keeps its mode) with the
world-write bit always cleared.
"""
from __future__ import annotations

import datetime as _dt
import difflib
import logging
import math
import os
import re
import secrets
import string
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import TrayripError
from .hotkey_syntax import DEFAULT_HOTKEY, HotkeyError, parse_hotkey

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "FORMATS",
    "THRESHOLD_PRESETS",
    "Config",
    "ConfigError",
    "ConfigStore",
    "LoadResult",
    "config_path",
    "validate_value",
    "updated",
    "to_toml",
]

log = logging.getLogger(__name__)

FORMATS: dict[str, str] = {"wav": "WAV", "flac": "FLAC", "mp3": "MP3", "ogg": "Ogg Vorbis", "opus": "Opus"}
THRESHOLD_PRESETS: tuple[float, ...] = (-60.0, -50.0, -40.0, -30.0)


class ConfigError(TrayripError, ValueError):
    """A setting that cannot be used; the message names the key."""


@dataclass(frozen=True)
class Config:
    """Every setting with its default. Immutable: a change makes a new object."""

    hotkey: str = DEFAULT_HOTKEY  # pynput syntax, e.g. "<ctrl>+<alt>+<shift>+r"
    folder: str = ""  # "" = Music/playlists
    format: str = "wav"  # wav, flac, mp3, ogg, opus
    device: str = ""  # "" = what the computer plays (loopback of the default output)
    app: str = ""  # "" = all system audio; else only applications whose name or binary contains this
    app_muted: bool = False  # with app: not heard on the speakers while it is recorded
    trim: bool = True  # cut leading/trailing silence
    threshold_db: float = -50.0  # below this level (dBFS) counts as silence
    split: bool = False  # split into tracks at long silences
    name_template: str = ""  # "" = date and time; fields like {date} {time} {title}
    notifications: bool = True
    rate: int = 0  # 0 = the device's own rate
    bits: int = 16  # 16 or 24
    min_track: float = 30.0  # shorter pieces are merged when splitting
    tracks: bool = False  # one file per track at the media player's track changes (MPRIS)
    keep_partial: bool = True  # with tracks: file partly recorded tracks, marked "(partial)"
    remote_art: bool = False  # with tracks: fetch http(s) cover art (nothing leaves the machine unless on)
    stop_on_silence: float = 0.0  # stop by itself after this many seconds of silence; 0 = off
    preroll_seconds: float = 0.0  # keep the last N seconds while idle (0 = off, at most 120)
    replaygain: bool = True  # loudness tags measured while recording (ReplayGain 2.0, R128 for Opus)
    normalize: bool | str = False  # False, "track" or "album": apply the gain when encoding (peak <= -1 dBFS)
    skip_ads: bool = True  # with tracks: leave out what the player marks as ads
    duplicates: str = "keep-both"  # with tracks: keep-both, skip or keep-longer a track already in the folder

    def recording_options(self):
        """The :class:`trayrip.api.RecordingOptions` these settings ask for."""
        from .api import RecordingOptions
        from .recording.silence import SilenceSettings

        return RecordingOptions(
            folder=Path(self.folder).expanduser() if self.folder else None,
            device=self.device or None,
            app=self.app or None,
            muted=self.app_muted and bool(self.app),
            rate=self.rate or None,
            bits=self.bits,
            trim=self.trim,
            silence=SilenceSettings(threshold_db=self.threshold_db),
            format=self.format,
            template=self.name_template or None,
            split=self.split,
            min_track=self.min_track,
            tracks=self.tracks,
            keep_partial=self.keep_partial,
            remote_art=self.remote_art,
            stop_on_silence=self.stop_on_silence,
            replaygain=self.replaygain,
            normalize=self.normalize or None,
            skip_ads=self.skip_ads,
            duplicates=self.duplicates,
        )


_COMMENTS = {
    "hotkey": 'start/stop recording, e.g. "<ctrl>+<alt>+<shift>+r" or "<ctrl>+<shift>+<f12>"',
    "folder": 'where recordings go; "" = Music/playlists',
    "format": "wav, flac, mp3, ogg or opus",
    "device": '"" = what the computer plays; or a device name from `trayrip devices`',
    "app": '"" = all system audio; or record only this application (a name from `trayrip apps`; Linux)',
    "app_muted": "with app: the application is recorded but not heard on the speakers while recording",
    "trim": "cut silence at the start and end",
    "threshold_db": "quieter than this (dBFS, -120..0) counts as silence",
    "split": "split into tracks at silences",
    "name_template": 'file name; "" = date and time',
    "notifications": "desktop notifications when a recording is saved or fails",
    "rate": "sample rate in Hz; 0 = the device's own",
    "bits": "16 or 24",
    "min_track": "when splitting, pieces shorter than this (seconds) are merged",
    "tracks": "split at the media player's track changes, named and tagged from its metadata",
    "keep_partial": 'with tracks: keep tracks joined mid-way or left early, marked "(partial)"',
    "remote_art": "with tracks: fetch cover art from the web (off: only local image files)",
    "stop_on_silence": "stop and file by itself after this many seconds of silence; 0 = off",
    "preroll_seconds": "keep the last N seconds while idle and put them in front of a recording; 0 = off, at most 120",
    "replaygain": "write ReplayGain loudness tags (track, and album over split tracks), measured while recording",
    "normalize": 'false, "track" or "album": apply the loudness gain to the audio when filing (peaks kept <= -1 dBFS)',
    "skip_ads": "with tracks: leave out what the player marks as ads",
    "duplicates": 'with tracks, a track already in the folder: "keep-both" (named "(2)"), "skip" or "keep-longer"',
}


def config_path() -> Path:
    """``config.toml`` in the platform's config folder (computed when called)."""
    import platformdirs

    return Path(platformdirs.user_config_dir("trayrip", appauthor=False)) / "config.toml"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate_value(key: str, value: Any) -> Any:
    """Check one setting; return it normalised or raise ConfigError naming ``key``."""
    if key not in _COMMENTS:
        raise ConfigError(f"unknown setting {key!r}; known: {', '.join(_COMMENTS)}")
    if key == "hotkey":
        try:
            return parse_hotkey(value).canonical
        except HotkeyError as exc:
            raise ConfigError(f"hotkey: {exc}") from None
    if key in ("trim", "split", "notifications", "tracks", "keep_partial", "remote_art", "replaygain", "skip_ads",
               "app_muted"):
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: must be true or false, not {value!r}")
        return value
    if key in ("folder", "device", "name_template", "app"):
        if isinstance(value, int) and not isinstance(value, bool) and key == "device":
            return str(value)  # a device index
        if not isinstance(value, str):
            raise ConfigError(f"{key}: must be a string in quotes, not {value!r}")
        if "\x00" in value:
            raise ConfigError(f"{key}: must not contain NUL characters")
        if key == "name_template" and value:
            try:
                list(string.Formatter().parse(value))
            except ValueError as exc:
                raise ConfigError(f"name_template: {exc} in {value!r} (use {{{{ and }}}} for braces)") from None
        return value.strip() if key in ("device", "app") else value
    if key == "normalize":
        if value is False or value in ("track", "album"):
            return value
        raise ConfigError(f'normalize: {value!r} must be false, "track" or "album"')
    if key == "duplicates":
        if value not in ("keep-both", "skip", "keep-longer"):
            raise ConfigError(f'duplicates: {value!r} must be "keep-both", "skip" or "keep-longer"')
        return value
    if key == "format":
        if not isinstance(value, str) or value.lower() not in FORMATS:
            raise ConfigError(f"format: {value!r} is not one of {', '.join(FORMATS)}")
        return value.lower()
    if key == "threshold_db":
        if not _is_number(value) or not -120.0 <= value <= 0.0:
            raise ConfigError(f"threshold_db: {value!r} must be a level in dBFS between -120 and 0")
        return float(value)
    if key == "rate":
        if not isinstance(value, int) or isinstance(value, bool) or not (value == 0 or 1000 <= value <= 768000):
            raise ConfigError(f"rate: {value!r} must be 0 (the device's own) or 1000..768000 Hz")
        return value
    if key == "bits":
        if value not in (16, 24) or isinstance(value, bool):
            raise ConfigError(f"bits: {value!r} must be 16 or 24")
        return int(value)
    if key == "min_track":
        if not _is_number(value) or not 0 <= value <= 36000:
            raise ConfigError(f"min_track: {value!r} must be seconds between 0 and 36000")
        return float(value)
    if key == "stop_on_silence":
        if not _is_number(value) or not 0 <= value <= 36000:
            raise ConfigError(f"stop_on_silence: {value!r} must be seconds between 0 (off) and 36000")
        return float(value)
    if key == "preroll_seconds":
        if not _is_number(value) or not 0 <= value <= 120:
            raise ConfigError(f"preroll_seconds: {value!r} must be seconds between 0 (off) and 120")
        return float(value)
    raise AssertionError(key)  # pragma: no cover


def _did_you_mean(key: str) -> str:
    """"; did you mean threshold_db?" for a key close to a known one ("" when none is)."""
    close = difflib.get_close_matches(str(key).lower(), list(_COMMENTS), n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _short(text: str, limit: int = 60) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


_KEY_OF_LINE = re.compile(r"\s*([A-Za-z0-9_-]+)\s*=")


def _salvage(text: str, error: Exception) -> tuple[dict[str, Any], list[tuple[int, str, str, str | None]]]:
    """The settings of a file that is not valid TOML, read line by line (every line here is ``key = value``).

    Returns the values of the lines that parse and (line number, line, why,
    the key it seems to set) for each line that does not.
    """
    data: dict[str, Any] = {}
    broken: list[tuple[int, str, str, str | None]] = []
    for number, line in enumerate(text.split("\n"), 1):  # TOML's newlines only (not str.splitlines' many)
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _KEY_OF_LINE.match(line)
        try:
            found = tomllib.loads(line)
        except tomllib.TOMLDecodeError as exc:
            broken.append((number, line, re.sub(r"\s*\(at [^)]*\)$", "", str(exc)), m.group(1) if m else None))
            continue
        again = [k for k in found if k in data]
        if again:  # TOML allows a key once: the first line counts
            broken.append((number, line, f"{again[0]} is set a second time", None))
            continue
        data.update(found)
    if not broken:
        lineno = getattr(error, "lineno", 0)
        broken.append((lineno, "", re.sub(r"\s*\(at [^)]*\)$", "", str(error)), None))
    return data, broken


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_value(value: Any) -> str:
    """One setting's value written as TOML (the config file and the schedules file)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} cannot be written to TOML")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(config: Config) -> str:
    """The config file's text: every key with a short comment."""
    lines = ["# trayrip settings. Delete a line to use its default.", ""]
    for f in fields(Config):
        lines.append(f"# {_COMMENTS[f.name]}")
        lines.append(f"{f.name} = {toml_value(getattr(config, f.name))}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class LoadResult:
    """What loading found: the settings in effect and the problems (one line each)."""

    config: Config
    problems: tuple[str, ...] = ()
    exists: bool = False


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask() would race other threads)
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


class ConfigStore:
    """Loads and saves one config file (controller thread).

    ``path`` defaults to :func:`config_path`, resolved when the store is made.
    """

    def __init__(self, path: Path | None = None, clock=_dt.datetime.now):
        self.path = Path(path) if path is not None else config_path()
        self._clock = clock
        self.unclean = False  # the file on disk had problems: set it aside before saving
        self.mtime_ns: int | None = None

    def load(self, previous: Config | None = None) -> LoadResult:
        """Read the file; problems become messages. Never writes.

        A bad value keeps what ``previous`` (the settings in effect) had --
        a typo in the hotkey keeps the binding that works -- or, at start-up
        without ``previous``, the default.
        """
        fallback = previous or Config()
        kept = "keeping the settings in effect" if previous is not None else "using the defaults"
        try:
            st = self.path.stat()
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self.unclean, self.mtime_ns = False, None
            return LoadResult(Config(), (), False)
        except OSError as exc:
            self.unclean, self.mtime_ns = True, None
            return LoadResult(fallback, (f"cannot read {self.path}: {exc.strerror or exc}; {kept}",), True)
        self.mtime_ns = st.st_mtime_ns
        try:
            text = raw.decode("utf-8")
            data = tomllib.loads(text)
        except UnicodeDecodeError as exc:
            self.unclean = True
            return LoadResult(fallback, (f"{self.path} is not UTF-8 text ({exc.reason}); {kept}",), True)
        except tomllib.TOMLDecodeError as exc:
            data, broken = _salvage(text, exc)
        else:
            broken = []
        values: dict[str, Any] = {}
        problems: list[str] = []
        defaults = Config()
        for number, line, why, key in broken:  # one bad line costs that line only
            if key in _COMMENTS:
                values[key] = getattr(fallback, key)
                keeping = f"keeping {values[key]!r}" if previous is not None else f"using the default {values[key]!r}"
            else:
                keeping = "the line is ignored"
            problems.append(f"{self.path} line {number} is not valid TOML ({why}): {_short(line)}; {keeping}. "
                            "Your file is kept as it is")
        for key, value in data.items():
            try:
                values[key] = validate_value(key, value)
            except ConfigError as exc:
                if key in _COMMENTS and previous is not None:
                    values[key] = getattr(previous, key)
                    problems.append(f"{self.path.name}: {exc}; keeping {values[key]!r}")
                elif key in _COMMENTS:
                    problems.append(f"{self.path.name}: {exc}; using the default {getattr(defaults, key)!r}")
                else:
                    problems.append(f"{self.path.name}: unknown setting {key!r} (ignored){_did_you_mean(key)}")
        self.unclean = bool(problems)
        # A broken file may hide a setting it meant to keep: what it does not say stays as it is.
        return LoadResult(replace(fallback if broken else defaults, **values), tuple(problems), True)

    def changed_on_disk(self) -> bool:
        """True if the file was created, edited or removed since the last load/save."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            mtime = None
        return mtime != self.mtime_ns

    def _set_aside(self) -> Path | None:
        if not self.path.exists():
            return None
        stamp = self._clock().strftime("%Y%m%d-%H%M%S")
        for n in range(1, 1000):
            suffix = f".broken-{stamp}" if n == 1 else f".broken-{stamp}-{n}"
            target = self.path.with_name(self.path.name + suffix)
            try:
                os.link(self.path, target)  # claims the name atomically, never overwrites
            except FileExistsError:
                continue
            except OSError:
                if target.exists():
                    continue
                os.rename(self.path, target)
                return target
            return target
        raise ConfigError(f"no free name to keep {self.path} aside; not saving")

    def save(self, config: Config) -> str | None:
        """Write ``config`` atomically. Returns a note for the user when an unclean file was kept aside."""
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"cannot create {folder}: {exc.strerror or exc}") from None
        note = None
        if self.unclean:
            try:
                kept = self._set_aside()
            except OSError as exc:
                raise ConfigError(f"cannot keep a copy of {self.path} before saving: {exc.strerror or exc}") from None
            if kept is not None:
                note = f"your config file had problems; it was kept as {kept.name} and a new {self.path.name} was written"
                log.warning("%s", note)
        try:
            mode = self.path.stat().st_mode & 0o777
        except OSError:
            mode = 0o666 & ~_umask()
        mode &= ~0o002  # never world-writable
        tmp = folder / f".{self.path.name}.{secrets.token_hex(6)}.tmp"
        data = to_toml(config).encode("utf-8")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                if hasattr(os, "fchmod"):
                    os.fchmod(fd, mode)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise ConfigError(f"cannot save {self.path}: {exc.strerror or exc}") from None
        if os.name != "posix":
            os.chmod(self.path, 0o666 & ~0o002)
        self.unclean = False
        self.mtime_ns = self.path.stat().st_mtime_ns
        log.info("saved settings to %s", self.path)
        return note

    def ensure_exists(self, config: Config) -> None:
        """Write the current settings if there is no file yet (before opening it in an editor)."""
        if not self.path.exists():
            self.save(config)


def updated(config: Config, key: str, value: Any) -> Config:
    """``config`` with one setting changed (validated; raises ConfigError naming the key)."""
    return replace(config, **{key: validate_value(key, value)})

