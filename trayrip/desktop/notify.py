"""Desktop notifications that never crash the app (``trayrip-notify`` thread).

:meth:`Notifier.notify` may be called from any thread and only queues the
message (O(1)). The notifier thread sends it through the first backend that
works:

1. the freedesktop Notifications service over D-Bus (PyGObject's Gio), with
   app name "trayrip" and the state icon -- Linux/BSD desktops;
2. ``notify-send`` (libnotify-bin), as an argument list;
3. the tray icon's own ``notify`` (pystray, where ``HAS_NOTIFICATION``) --
   Windows balloons, macOS;

and, when none works, the message is only logged. A backend that fails is
skipped from then on.
"""
from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Protocol

__all__ = ["Note", "NotifyBackend", "DBusBackend", "NotifySendBackend", "CallbackBackend", "Notifier"]

log = logging.getLogger(__name__)

APP_NAME = "trayrip"


@dataclass(frozen=True)
class Note:
    """One notification."""

    summary: str
    body: str = ""
    error: bool = False
    icon: str = "idle"  # which state icon to show


def _icon_path(name: str) -> str:
    try:
        path = resources.files("trayrip.desktop").joinpath("images", f"{name}.png")
        return str(path) if isinstance(path, Path) and path.is_file() else ""
    except (ModuleNotFoundError, OSError):
        return ""


class NotifyBackend(Protocol):
    name: str

    def send(self, note: Note) -> None:
        """Show ``note``; raise on failure (the notifier then tries the next backend)."""


class DBusBackend:
    """org.freedesktop.Notifications through Gio (needs python3-gi and a session bus)."""

    name = "dbus"

    def __init__(self, timeout_ms: int = 3000):
        from gi.repository import Gio, GLib  # raises ImportError without PyGObject

        self._Gio, self._GLib = Gio, GLib
        self._timeout = timeout_ms
        self._proxy = None
        self._markup: bool | None = None  # does the server parse body markup? (asked once)

    def send(self, note: Note) -> None:
        Gio, GLib = self._Gio, self._GLib
        if self._proxy is None:
            bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
            self._proxy = Gio.DBusProxy.new_sync(
                bus,
                Gio.DBusProxyFlags.DO_NOT_LOAD_PROPERTIES | Gio.DBusProxyFlags.DO_NOT_CONNECT_SIGNALS,
                None,
                "org.freedesktop.Notifications",
                "/org/freedesktop/Notifications",
                "org.freedesktop.Notifications",
                None,
            )
        if self._markup is None:
            self._markup = self._has_body_markup()
        # A server that parses markup would drop "<ctrl>+r" as an unknown tag: escape what is ours to show.
        body = GLib.markup_escape_text(note.body) if self._markup else note.body
        hints = {
            "urgency": GLib.Variant("y", 2 if note.error else 1),
            "desktop-entry": GLib.Variant("s", APP_NAME),
        }
        self._proxy.call_sync(
            "Notify",
            GLib.Variant(
                "(susssasa{sv}i)",
                (APP_NAME, 0, _icon_path(note.icon), note.summary, body, [], hints, -1),
            ),
            Gio.DBusCallFlags.NONE,
            self._timeout,
            None,
        )


    def _has_body_markup(self) -> bool:
        try:
            reply = self._proxy.call_sync("GetCapabilities", None, self._Gio.DBusCallFlags.NONE, self._timeout, None)
        except Exception as exc:  # assume markup: escaped text is still readable, dropped text is not
            log.debug("GetCapabilities failed (%s); escaping notification bodies", exc)
            return True
        return "body-markup" in reply.unpack()[0]


class NotifySendBackend:
    """``notify-send`` from libnotify-bin."""

    name = "notify-send"

    def __init__(self, exe: str | None = None, timeout: float = 5.0):
        self._exe = exe or shutil.which("notify-send")
        if not self._exe:
            raise FileNotFoundError("notify-send not found")
        self._timeout = timeout

    def send(self, note: Note) -> None:
        argv = [self._exe, f"--app-name={APP_NAME}", f"--urgency={'critical' if note.error else 'normal'}"]
        icon = _icon_path(note.icon)
        if icon:
            argv.append(f"--icon={icon}")
        # notify-send cannot ask for the server's capabilities; the common servers parse markup.
        argv += ["--", note.summary, _escape_markup(note.body)]
        subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            timeout=self._timeout, check=True,
        )


def _escape_markup(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class CallbackBackend:
    """Any ``fn(message, title)``, e.g. pystray's ``Icon.notify``."""

    def __init__(self, fn: Callable[[str, str], None], name: str = "tray"):
        self._fn = fn
        self.name = name

    def send(self, note: Note) -> None:
        self._fn(note.body or note.summary, note.summary)


def default_backends() -> list[Callable[[], NotifyBackend]]:
    """Factories in order of preference for this platform (each may raise if unavailable)."""
    if sys.platform.startswith("win") or sys.platform == "darwin":
        return []
    return [DBusBackend, NotifySendBackend]


_STOP = object()


class Notifier:
    """Queues notifications and sends them on its own thread; never raises to callers."""

    def __init__(self, factories: list[Callable[[], NotifyBackend]] | None = None, enabled: bool = True):
        self._factories = list(default_backends() if factories is None else factories)
        self._backends: list[NotifyBackend] | None = None
        self._fallback: NotifyBackend | None = None
        self.enabled = enabled
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.sent: list[tuple[str, Note]] = []  # (backend name or "log", note): the last few, for tests/doctor

    def set_fallback(self, fn: Callable[[str, str], None] | None) -> None:
        """The tray's own notify (any thread); used when no desktop backend works."""
        self._fallback = CallbackBackend(fn) if fn is not None else None

    def start(self) -> Notifier:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="trayrip-notify", daemon=True)
            self._thread.start()
        return self

    def notify(self, summary: str, body: str = "", *, error: bool = False, icon: str | None = None) -> None:
        """Queue a notification (any thread, O(1)); always logged, shown only when enabled."""
        note = Note(summary, body, error, icon or ("error" if error else "idle"))
        log.log(logging.WARNING if error else logging.INFO, "notification: %s%s", summary, f": {body}" if body else "")
        if not self.enabled:
            return
        if self._thread is None:
            self._send(note)  # not started (tests, or before start-up finished): send inline
        else:
            self._queue.put(note)

    def close(self, timeout: float = 3.0) -> None:
        """Send what is queued, then stop the thread (app thread, at exit)."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            note = self._queue.get()
            if note is _STOP:
                return
            try:
                self._send(note)
            except Exception:  # never a silently dead thread
                log.exception("sending a notification failed")

    def _chain(self) -> list[NotifyBackend]:
        if self._backends is None:
            self._backends = []
            for factory in self._factories:
                try:
                    self._backends.append(factory())
                except Exception as exc:
                    log.debug("notification backend %s unavailable: %s", getattr(factory, "__name__", factory), exc)
        chain = list(self._backends)
        if self._fallback is not None:
            chain.append(self._fallback)
        return chain

    def _send(self, note: Note) -> None:
        for backend in self._chain():
            try:
                backend.send(note)
            except Exception as exc:
                log.info("notifications through %s failed (%s); trying the next way", backend.name, exc)
                if self._backends is not None and backend in self._backends:
                    self._backends.remove(backend)
                continue
            self._remember(backend.name, note)
            return
        self._remember("log", note)

    def _remember(self, how: str, note: Note) -> None:
        self.sent.append((how, note))
        del self.sent[:-20]
