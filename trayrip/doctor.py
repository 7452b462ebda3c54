"""``trayrip doctor``: one line per thing trayrip needs, each with a fix (CLI main thread).

Each check returns a :class:`Check`; ``FAIL`` means recording cannot work
(the command then exits 1), ``warn`` means something is missing that only
part of trayrip needs (the tray, the hotkey, lossy formats).
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .errors import TrayripError

__all__ = ["Check", "OK", "WARN", "FAIL", "run_checks", "format_check", "CHECKS"]

OK, WARN, FAIL = "ok", "warn", "FAIL"


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    status: str  # OK, WARN or FAIL
    detail: str
    fix: str = ""


def format_check(c: Check) -> str:
    return f"{c.status:<4}  {c.name}: {c.detail}" + (f"  -> {c.fix}" if c.fix else "")


def _linux() -> bool:
    return not (sys.platform.startswith("win") or sys.platform == "darwin")


# -- the checks, in the order a recording needs them ---------------------------------
def check_sound_server(ctx: dict) -> Check:
    if not _linux():
        return Check("sound server", OK, f"{sys.platform}: PortAudio talks to the system's audio directly")
    from .capture import pulse

    try:
        info = pulse.query()
    except TrayripError as exc:
        ctx["no_server"] = True
        return Check("sound server", FAIL, str(exc).split(": start your")[0],
                     "start PulseAudio or PipeWire (systemctl --user start pipewire-pulse), or check PULSE_SERVER")
    ctx["pulse"] = info
    return Check("sound server", OK, info.label)


def check_loopback(ctx: dict) -> Check:
    from .capture.discovery import plan_capture
    from .capture.portaudio import PortAudio

    if ctx.get("no_server"):
        return Check("loopback source", FAIL, "cannot be chosen without a sound server", "see 'sound server' above")
    device = ctx["config"].device or None
    backend = PortAudio()
    try:
        plan = plan_capture(backend, device=device)
    except TrayripError as exc:
        return Check("loopback source", FAIL, str(exc), "see 'trayrip devices'")
    finally:
        backend.close()
    ctx["plan"] = plan
    what = f"{plan.description}, {plan.format.describe()}"
    return Check("loopback source", OK, what + (" (the 'device' setting)" if device else " (the default output's monitor)"))


def check_capture(ctx: dict) -> Check:
    from . import api
    from .recording.silence import SilenceSettings

    if "plan" not in ctx:
        return Check("test capture", FAIL, "skipped: no source to record", "fix the lines above")
    quiet = logging.getLogger("trayrip")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the test file's own news (silent, untrimmed) is not the user's
    with tempfile.TemporaryDirectory(prefix="trayrip-doctor-") as tmp:
        rec = api.Recording(folder=Path(tmp), device=ctx["config"].device or None, trim=False,
                            silence=SilenceSettings())
        try:
            rec.start(max_seconds=1.0)
            # An idle monitor may take ~2 s to deliver its first block; the recorder stops after 1 s of audio.
            rec.wait_done(8.0)
            result = rec.stop_capture()
            try:
                rec.finish()  # files it into the temporary folder, which then goes
            except TrayripError:
                pass
        except TrayripError as exc:
            return Check("test capture", FAIL, str(exc), "see 'trayrip devices' and the log file")
        finally:
            quiet.setLevel(level)
    if result.error or result.frames == 0:
        return Check("test capture", FAIL, result.error or "the source delivered no audio in 8 s",
                     "is the sound server running normally? (pactl info)")
    seconds = result.frames / result.format.rate
    if result.peak_db == float("-inf"):
        level, fix = "digital silence", "fine if nothing is playing; play something to see a level"
    else:
        level, fix = f"peak {result.peak_db:.0f} dBFS", ""
    return Check("test capture", OK, f"{seconds:.1f} s captured, {level}", fix)


def check_tray(ctx: dict) -> Check:
    env = os.environ
    if _linux() and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return Check("tray", WARN, "no display (DISPLAY / WAYLAND_DISPLAY unset)",
                     "the tray app needs a desktop session; 'trayrip record' works without one")
    from .desktop import tray

    candidates, reason = tray.choose_backends()
    try:
        pystray = tray._load_pystray(candidates)
    except TrayripError as exc:
        return Check("tray", WARN, str(exc), "install python3-gi and gir1.2-ayatanaappindicator3-0.1")
    backend = pystray.Icon.__module__.rsplit("._", 1)[-1]
    if not pystray.Icon.HAS_MENU:
        return Check("tray", WARN, f"{backend} backend ({reason}), no menu",
                     "install python3-gi (PyGObject) for a tray menu")
    return Check("tray", OK, f"{backend} backend ({reason}), with a menu")


def _portal_shortcuts() -> int | None:
    """The GlobalShortcuts portal's version, or None where no portal offers it."""
    from .sessionbus import DBusAddress, SessionBus

    try:
        with SessionBus(timeout=2.0) as bus:
            desktop = DBusAddress("/org/freedesktop/portal/desktop", bus_name="org.freedesktop.portal.Desktop")
            return int(bus.get_property(desktop, "org.freedesktop.portal.GlobalShortcuts", "version"))
    except Exception:
        return None


def _running_hotkey() -> str | None:
    """What the running tray app says of its hotkey (``ok KEY`` / ``problem KEY: why``); None when none runs."""
    from .desktop.instance import ask_running

    try:
        reply = ask_running("hotkey", timeout=2.0)
    except TrayripError:
        return None
    return reply if reply.startswith(("ok ", "problem ")) else None  # an older trayrip does not know the question


def check_hotkey(ctx: dict) -> Check:
    from .desktop.hotkeys import PynputBackend, is_wayland
    from .hotkey_syntax import display_name, parse_hotkey

    running = _running_hotkey()
    if running is not None:  # what the tray app bound is what counts (on Wayland the desktop may bind another key)
        word, _, detail = running.partition(" ")
        if word == "ok":
            return Check("hotkey", OK, f"{detail} (the running trayrip)")
        from .desktop.portal_follow import GONE_MESSAGE

        fix = "it binds the key again by itself when that service is back" if GONE_MESSAGE in detail else \
            "see the tray menu, or bind the command 'trayrip toggle' to a key in your desktop's keyboard settings"
        return Check("hotkey", WARN, f"{detail} (the running trayrip)", fix)
    key = display_name(parse_hotkey(ctx["config"].hotkey), sys.platform)
    if _linux() and is_wayland():
        version = _portal_shortcuts()
        if version is not None:
            return Check("hotkey", OK, f"{key} through the desktop portal (GlobalShortcuts v{version})")
        return Check("hotkey", WARN, f"Wayland without a GlobalShortcuts portal: {key} will not be seen",
                     "bind the command 'trayrip' to a key in your desktop's keyboard settings")
    if _linux() and not os.environ.get("DISPLAY"):
        return Check("hotkey", WARN, "none: no X11 display", "run trayrip inside your desktop session")
    try:
        PynputBackend._keyboard()
    except TrayripError as exc:
        return Check("hotkey", WARN, str(exc), "install python3-xlib / pynput, or bind 'trayrip' in keyboard settings")
    if sys.platform == "darwin":
        return Check("hotkey", OK, f"{key} (pynput)",
                     "macOS: allow the program in Privacy & Security > Accessibility and Input Monitoring")
    return Check("hotkey", OK, f"{key} ({'X11' if _linux() else sys.platform} via pynput)")


def check_ffmpeg(ctx: dict) -> Check:
    from .filing.encoders import check_format, ffmpeg_path

    exe = ffmpeg_path()
    fmt = ctx["config"].format
    if exe is None:
        status = WARN if check_format(fmt) else OK
        return Check("ffmpeg", status, "not found: MP3, Ogg and Opus recordings are kept as WAV"
                     + (f" (your format is {fmt})" if status == WARN else ""),
                     "apt install ffmpeg (macOS: brew install ffmpeg, Windows: pip install imageio-ffmpeg)")
    missing = [name for name in ("mp3", "ogg", "opus") if check_format(name)]
    if missing:
        return Check("ffmpeg", WARN, f"{exe} lacks encoders for {', '.join(missing)}", "install a full ffmpeg build")
    return Check("ffmpeg", OK, f"{exe} (MP3, Ogg, Opus)")


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_folder(ctx: dict) -> Check:
    from .filing.finish import default_folder
    from .filing.naming import clock_duration

    cfg = ctx["config"]
    folder = Path(cfg.folder).expanduser() if cfg.folder else default_folder()
    fix = "choose another one in Settings \N{RIGHTWARDS ARROW} Output folder (or 'folder' in the config file)"
    base = _existing_parent(folder)
    if not base.is_dir():
        return Check("output folder", FAIL, f"{folder}: {base} is not a folder", fix)
    try:
        ro = bool(os.statvfs(base).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):
        ro = False
    if ro:
        return Check("output folder", FAIL, f"{folder}: the file system is read-only", fix)
    try:  # os.access says yes to root everywhere: really create a file
        fd, probe = tempfile.mkstemp(prefix=".trayrip-doctor-", dir=base)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return Check("output folder", FAIL, f"{folder}: cannot write there ({exc.strerror})", fix)
    free = shutil.disk_usage(base).free
    plan = ctx.get("plan")
    rate = plan.format.rate * plan.format.bytes_per_frame if plan else 48000 * 4
    room = f"{free / 1e9:.1f} GB free, room for {clock_duration(free / rate)} of audio"
    made = "" if folder.exists() else " (created at the first recording)"
    status = WARN if free < 600 * rate else OK  # under 10 minutes
    return Check("output folder", status, f"{folder}{made}: writable, {room}",
                 "free some space" if status == WARN else "")


def check_config(ctx: dict) -> Check:
    loaded = ctx["loaded"]
    path = ctx["store"].path
    if not loaded.exists:
        return Check("config", OK, f"{path} (not created yet: defaults)")
    if loaded.problems:
        return Check("config", WARN, "; ".join(loaded.problems), f"edit {path}")
    return Check("config", OK, f"{path} (valid)")


def check_log(ctx: dict) -> Check:
    from .logsetup import log_file

    path = log_file()
    base = _existing_parent(path.parent)
    if not os.access(base, os.W_OK):
        return Check("log file", WARN, f"{path}: cannot be written", f"make {base} writable")
    return Check("log file", OK, str(path) + ("" if path.exists() else " (written by the tray app)"))


CHECKS: tuple[Callable[[dict], Check], ...] = (
    check_sound_server,
    check_loopback,
    check_capture,
    check_tray,
    check_hotkey,
    check_ffmpeg,
    check_folder,
    check_config,
    check_log,
)


def run_checks(checks: Iterable[Callable[[dict], Check]] = CHECKS) -> Iterable[Check]:
    """Run each check in turn (later ones use what earlier ones found); yields as they finish."""
    from .config import ConfigStore

    store = ConfigStore()
    loaded = store.load()
    ctx: dict = {"store": store, "loaded": loaded, "config": loaded.config}
    for check in checks:
        try:
            yield check(ctx)
        except Exception as exc:  # a broken check is a finding, not a crash
            yield Check(check.__name__.removeprefix("check_").replace("_", " "), FAIL, f"the check itself failed: {exc}")
