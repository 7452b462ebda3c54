"""Start the tray app at login: ``trayrip autostart on | off | status`` and the menu's checkbox.

One small class per OS, all with ``enabled() / enable() / disable()`` and a
``where`` for messages:

* Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/trayrip.desktop``
  (``~/.config/autostart``), the XDG Autostart specification;
* Windows: the value ``trayrip`` under
  ``HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``
  (through :class:`RunKey`, so it is tested with a fake);
* macOS: a LaunchAgent ``~/Library/LaunchAgents/trayrip.plist`` with
  ``RunAtLoad``.

Paths are computed when called. Threads: the CLI's main thread, or
``trayrip-autostart`` (:class:`AutostartSwitch`) for the tray menu, whose
click only queues the change.
"""
from __future__ import annotations

import logging
import os
import plistlib
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Protocol

from ..errors import TrayripError

__all__ = [
    "DESKTOP_ID",
    "Autostart",
    "XdgAutostart",
    "RunKey",
    "WindowsAutostart",
    "MacLaunchAgent",
    "launch_command",
    "for_platform",
    "AutostartSwitch",
]

log = logging.getLogger(__name__)

DESKTOP_ID = "trayrip"  # trayrip.desktop; also the portal app id and the tray icon's id
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
AGENT_LABEL = "trayrip"


class Autostart(Protocol):
    where: str

    def enabled(self) -> bool:
        """True when trayrip starts at login."""

    def enable(self) -> None:
        """Start trayrip at login (idempotent; replaces an older entry)."""

    def disable(self) -> None:
        """Do not start trayrip at login (idempotent)."""


def launch_command() -> list[str]:
    """The command that starts the tray app, absolute, for this installation."""
    if getattr(sys, "frozen", False):  # the Windows build: trayrip.exe is the console-less tray app
        tray = Path(sys.executable).with_name("trayrip.exe")
        return [str(tray if tray.is_file() else Path(sys.executable)), "tray"]
    script = Path(sys.executable).with_name("trayrip.exe" if os.name == "nt" else "trayrip")
    if script.is_file():
        return [str(script), "tray"]
    found = shutil.which("trayrip")
    if found:
        return [str(Path(found).resolve()), "tray"]
    return [sys.executable, "-m", "trayrip", "tray"]


def _desktop_exec(argv: list[str]) -> str:
    """argv as a desktop entry Exec value (quoted per the Desktop Entry spec)."""
    out = []
    for arg in argv:
        if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`%='):
            out.append(arg)
        else:
            escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
            out.append('"' + escaped.replace("%", "%%") + '"')
    # the Exec key's own escaping level doubles backslashes once more
    return " ".join(out).replace("\\", "\\\\")


def desktop_entry(argv: list[str], autostart: bool = False) -> str:
    """The trayrip.desktop text (applications menu, or autostart)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Name=trayrip",
        "GenericName=Audio recorder",
        "Comment=Record what the computer plays",
        f"Exec={_desktop_exec(argv)}",
        f"Icon={DESKTOP_ID}",
        "Terminal=false",
        "Categories=AudioVideo;Audio;Recorder;",
        "StartupNotify=false",
    ]
    if autostart:
        lines += ["X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-Delay=2"]
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` atomically, mode 0644 at most (never world-writable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class XdgAutostart:
    """``~/.config/autostart/trayrip.desktop`` (XDG Autostart)."""

    def __init__(self, config_home: Path | None = None, command: list[str] | None = None):
        if config_home is None:
            config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.path = Path(config_home) / "autostart" / f"{DESKTOP_ID}.desktop"
        self.where = str(self.path)
        self._command = command

    def enabled(self) -> bool:
        try:
            text = self.path.read_text(errors="replace")
        except OSError:
            return False
        keys = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
        return keys.get("Hidden", "false").strip() != "true" and keys.get("X-GNOME-Autostart-enabled", "true").strip() != "false"

    def enable(self) -> None:
        write_atomic(self.path, desktop_entry(self._command or launch_command(), autostart=True).encode())

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


class RunKey(Protocol):
    """The current user's Run key: one string value per name."""

    def get(self, name: str) -> str | None: ...

    def set(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class WinregRunKey:  # pragma: no cover - Windows only
    """The real ``HKCU\\...\\Run`` key through ``winreg``."""

    def __init__(self):
        import winreg

        self._winreg = winreg

    def get(self, name: str) -> str | None:
        w = self._winreg
        try:
            with w.OpenKey(w.HKEY_CURRENT_USER, RUN_KEY) as key:
                value, _kind = w.QueryValueEx(key, name)
        except FileNotFoundError:
            return None
        return str(value)

    def set(self, name: str, value: str) -> None:
        w = self._winreg
        with w.CreateKeyEx(w.HKEY_CURRENT_USER, RUN_KEY, 0, w.KEY_SET_VALUE) as key:
            w.SetValueEx(key, name, 0, w.REG_SZ, value)

    def delete(self, name: str) -> None:
        w = self._winreg
        try:
            with w.OpenKey(w.HKEY_CURRENT_USER, RUN_KEY, 0, w.KEY_SET_VALUE) as key:
                w.DeleteValue(key, name)
        except FileNotFoundError:
            pass


class WindowsAutostart:
    """The value ``trayrip`` in the current user's Run key."""

    name = "trayrip"

    def __init__(self, key: RunKey | None = None, command: list[str] | None = None):
        self._key = key if key is not None else WinregRunKey()
        self._command = command
        self.where = f"HKEY_CURRENT_USER\\{RUN_KEY}\\{self.name}"

    def enabled(self) -> bool:
        return bool(self._key.get(self.name))

    def enable(self) -> None:
        command = self._command or launch_command()
        if command[0].lower().endswith("python.exe"):  # no console window at login
            command = [command[0][: -len("python.exe")] + "pythonw.exe", *command[1:]]
        self._key.set(self.name, subprocess.list2cmdline(command))

    def disable(self) -> None:
        self._key.delete(self.name)


class MacLaunchAgent:
    """``~/Library/LaunchAgents/trayrip.plist``, loaded by launchd at login."""

    def __init__(self, home: Path | None = None, command: list[str] | None = None):
        self.path = Path(home or Path.home()) / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist"
        self.where = str(self.path)
        self._command = command

    def plist(self) -> dict:
        return {
            "Label": AGENT_LABEL,
            "ProgramArguments": list(self._command or launch_command()),
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }

    def enabled(self) -> bool:
        try:
            with open(self.path, "rb") as f:
                return plistlib.load(f).get("RunAtLoad") is True
        except (OSError, plistlib.InvalidFileException, ValueError):
            return False

    def enable(self) -> None:
        write_atomic(self.path, plistlib.dumps(self.plist()))

    def disable(self) -> None:
        self.path.unlink(missing_ok=True)


def for_platform(platform: str = sys.platform) -> Autostart:
    """The autostart mechanism of this OS."""
    if platform.startswith("win"):
        return WindowsAutostart()
    if platform == "darwin":
        return MacLaunchAgent()
    return XdgAutostart()


def set_autostart(autostart: Autostart, on: bool) -> None:
    """Turn it on or off; TrayripError naming the place on failure."""
    try:
        autostart.enable() if on else autostart.disable()
    except OSError as exc:
        raise TrayripError(f"cannot turn autostart {'on' if on else 'off'} ({autostart.where}): "
                           f"{exc.strerror or exc}") from None


class AutostartSwitch:
    """The tray menu's "Start at login" checkbox: clicks queue, ``trayrip-autostart`` applies them."""

    def __init__(self, autostart: Autostart | None = None, on_error: Callable[[str], None] | None = None):
        self._autostart = autostart if autostart is not None else for_platform()
        self._on_error = on_error or (lambda message: log.warning("%s", message))
        self.enabled = self._safe_enabled()  # cached for the menu (read on the main thread)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="trayrip-autostart", daemon=True)
        self._thread.start()

    def _safe_enabled(self) -> bool:
        try:
            return self._autostart.enabled()
        except OSError:
            return False

    def request(self, on: bool) -> None:
        """Ask for autostart on/off (menu callback: O(1))."""
        self.enabled = on
        self._queue.put(on)

    def watch(self, on_change: Callable[[], None], watcher: Callable[..., Any] | None = None) -> None:
        """Follow changes made elsewhere (``trayrip autostart on|off`` in a terminal): the checkbox
        shows the real state, then ``on_change()`` (GLib's loop: O(1)) has the menu rebuilt."""
        path = getattr(self._autostart, "path", None)  # the XDG file; the Run key and plist are not watched
        if path is None:
            return

        def changed() -> None:
            self.enabled = self._safe_enabled()
            on_change()

        from .file_watch import watch_or_say  # no GIO: the checkbox follows the menu's own clicks only

        self._monitor = watch_or_say(path, changed, "'Start at login' will not follow changes made elsewhere",
                                     watcher)

    def close(self, timeout: float = 2.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            on = self._queue.get()
            if on is None:
                return
            try:
                set_autostart(self._autostart, on)
                log.info("autostart %s (%s)", "on" if on else "off", self._autostart.where)
            except Exception as exc:  # never a silently dead thread
                self._on_error(str(exc))
            self.enabled = self._safe_enabled()
