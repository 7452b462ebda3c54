"""The tray icon and its menu: the only pystray import in trayrip.

Threads:

* main: ``pystray.Icon.run`` (the GTK main loop, or pystray's X loop);
  menu callbacks run here and only submit commands to the controller (or
  queue a file to open, or show the non-modal folder chooser).
* ``trayrip-tray-ui``: takes the newest :class:`~trayrip.desktop.controller.Snapshot`
  from a one-slot mailbox (the controller only drops it in) and applies it:
  icon image, title/tooltip, menu refresh, and finally ``icon.stop()``. It is
  the only thread that calls pystray after start-up; pystray marshals the
  calls to its loop (GLib idle callbacks for the AppIndicator/GTK backends, a
  ClientMessage round trip for xorg -- see :func:`_xorg_icon`). Signal
  handlers never touch the icon (that deadlocked the xorg backend); they
  submit Quit. The thread blocks while nothing changes: an idle tray costs
  nothing.

Backend (Linux), unless ``PYSTRAY_BACKEND`` forces one:

1. ``appindicator`` when a StatusNotifierItem host is on the session bus
   (GNOME with the AppIndicator extension, KDE, Ubuntu, recent XFCE), or when
   there is no XEmbed tray either (the host may come up later; AppIndicator
   follows it, and falls back to an XEmbed icon by itself);
2. ``gtk`` (Gtk.StatusIcon) when only an XEmbed tray is present (trayer,
   stalonetray, LXDE, older XFCE/MATE panels): it docks there like
   AppIndicator's own fallback, but also shows a hover tooltip, starts/stops
   recording on a left click and opens the menu on a right click;
3. ``xorg`` (no PyGObject): an icon without a menu (pystray cannot do menus
   there) -- a warning says how to get menus; the hotkey and a left click
   (start/stop) still work.

Under Xvfb + trayer (the test harness) there is no StatusNotifierItem host,
so ``gtk`` is chosen; ``PYSTRAY_BACKEND=appindicator`` also works there
(libayatana-appindicator falls back to an XEmbed icon whose menu opens on a
left click, but it has no tooltip). tests/system/test_tray_system.py runs all three.
"""
from __future__ import annotations

import importlib
import logging
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from ..config import FORMATS, THRESHOLD_PRESETS
from .controller import Cmd, Snapshot
from ..errors import TrayripError
from ..filing.recent import recent_label
from ..hotkey_syntax import PRESETS, display_name
from .folder_dialog import FolderDialog
from .hotkey_view import key_label, tooltip_note
from .icons import state_image
from .mailbox import Mailbox
from .menu_key import menu_key
from .menu_status import save_last_line, status_line
from .recent_watch import watch_recent
from .schedule_menu import schedule_items, schedule_tooltip
from .state import State
from .tooltip_text import TOOLTIP_LIMIT, clock as _clock, short as _short, source_words as _from

__all__ = ["choose_backends", "tooltip", "Tray", "Mailbox"]

log = logging.getLogger(__name__)

APP_ID = "trayrip"
XORG_WARNING = (
    "pystray's xorg backend is in use: the tray icon has no menu there (a left click starts/stops "
    "recording; the hotkey works). For the menu, install PyGObject and AppIndicator "
    "(Debian/Ubuntu: apt install python3-gi gir1.2-ayatanaappindicator3-0.1 gir1.2-gtk-3.0) and run "
    "trayrip from a venv made with --system-site-packages (installer/install-debian.sh does both)"
)


# -- backend choice ------------------------------------------------------------
def _typelib(namespace: str, version: str) -> bool:
    try:
        import gi

        gi.require_version(namespace, version)
        importlib.import_module(f"gi.repository.{namespace}")
    except (ImportError, ValueError, AttributeError):
        return False
    except Exception as exc:  # GLib errors while loading a typelib
        log.debug("typelib %s %s: %s", namespace, version, exc)
        return False
    return True


def _sni_host_present() -> bool | None:
    """Is a StatusNotifierWatcher (AppIndicator host) on the session bus? None if unknown."""
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync(
            "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner",
            GLib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)), GLib.VariantType("(b)"),
            Gio.DBusCallFlags.NONE, 1000, None,
        )
        return bool(reply.unpack()[0])
    except Exception as exc:
        log.debug("cannot ask the session bus for a StatusNotifierWatcher: %s", exc)
        return None


def _xembed_tray_present() -> bool | None:
    """Does an XEmbed system tray own ``_NET_SYSTEM_TRAY_S<screen>``? None if unknown."""
    if not os.environ.get("DISPLAY"):
        return False
    try:
        from Xlib import X
        from Xlib import display as xdisplay

        d = xdisplay.Display()
        try:
            atom = d.intern_atom(f"_NET_SYSTEM_TRAY_S{d.get_default_screen()}")
            owner = d.get_selection_owner(atom)
            return getattr(owner, "id", owner) not in (X.NONE, None)
        finally:
            d.close()
    except Exception as exc:
        log.debug("cannot look for an XEmbed tray: %s", exc)
        return None


def choose_backends(
    env: dict[str, str] | None = None,
    platform: str = sys.platform,
    *,
    has_gtk: Callable[[], bool] | None = None,
    has_appindicator: Callable[[], bool] | None = None,
    sni_host: Callable[[], bool | None] = _sni_host_present,
    xembed_tray: Callable[[], bool | None] = _xembed_tray_present,
) -> tuple[list[str], str]:
    """pystray backends to try, in order, and why (see the module docstring)."""
    env = os.environ if env is None else env
    forced = env.get("PYSTRAY_BACKEND")
    if forced:
        return [forced], "PYSTRAY_BACKEND is set"
    if platform == "darwin":
        return ["darwin"], "macOS"
    if platform.startswith("win"):
        return ["win32"], "Windows"
    has_gtk = has_gtk or (lambda: _typelib("Gtk", "3.0"))
    has_appindicator = has_appindicator or (
        lambda: _typelib("AyatanaAppIndicator3", "0.1") or _typelib("AppIndicator3", "0.1")
    )
    if not has_gtk():
        return ["xorg"], "PyGObject with GTK 3 is not importable"
    if not has_appindicator():
        return ["gtk", "xorg"], "no AppIndicator typelib"
    sni, xembed = sni_host(), xembed_tray()
    if sni:
        return ["appindicator", "gtk", "xorg"], "a StatusNotifierItem host is running"
    if xembed:
        return ["gtk", "appindicator", "xorg"], "only an XEmbed tray is running"
    return ["appindicator", "gtk", "xorg"], "no tray host yet (AppIndicator follows one that appears)"


def _name_the_program() -> None:
    """WM_CLASS "trayrip" for the icon and menu windows (set before GTK opens the display)."""
    try:
        from gi.repository import GLib

        GLib.set_prgname(APP_ID)
        GLib.set_application_name(APP_ID)
    except Exception:  # no PyGObject: nothing to name
        pass


def _load_pystray(candidates: list[str]):
    """Import pystray with the first backend that works; returns the module."""
    if any(c in ("gtk", "appindicator") for c in candidates):
        _name_the_program()
    errors = []
    saved = os.environ.get("PYSTRAY_BACKEND")
    try:
        for name in candidates:
            os.environ["PYSTRAY_BACKEND"] = name  # pystray reads it when imported
            sys.modules.pop("pystray", None)  # a failed attempt must not be cached
            try:
                import pystray  # the only pystray import in trayrip

                return pystray
            except Exception as exc:  # ImportError, or Xlib/GLib errors without a display
                log.info("pystray backend %s unavailable: %s", name, exc)
                errors.append(f"{name}: {exc}")
                sys.modules.pop("pystray", None)
    finally:
        if saved is None:
            os.environ.pop("PYSTRAY_BACKEND", None)
        else:
            os.environ["PYSTRAY_BACKEND"] = saved
    raise TrayripError(
        "cannot show a tray icon (" + "; ".join(errors) + "). Is there a desktop session (DISPLAY and "
        "a D-Bus session bus)?"
    )


# -- what is shown -----------------------------------------------------------------
def tooltip(snap: Snapshot) -> str:
    """Title/tooltip text: state, elapsed time while recording, the hotkey."""
    key = key_label(snap)  # the key the desktop bound (Wayland portal), else the config's
    if snap.state is State.RECORDING:
        text = f"trayrip: recording {_clock(snap.elapsed)}{_from(snap.source, 'from')} ({key} stops)"
        if snap.pending:
            text += f"; saving {snap.pending} earlier"
    elif snap.state is State.ARMED:
        text = f"trayrip: armed, waiting for sound ({key} disarms)"
    elif snap.state is State.FINISHING:
        text = f"trayrip: saving the recording… ({key} starts a new one)"
    elif snap.state is State.ERROR:
        text = f"trayrip: error: {_short(snap.error or 'unknown', 120)}"
    else:
        text = f"trayrip: ready ({key} records)"
    if snap.preroll and snap.state is not State.RECORDING:  # the stream is open while idle: say so
        text += f"; pre-roll listening{_from(snap.source, 'to')} (last {snap.preroll:g} s, {_megabytes(snap.preroll_bytes)})"
    if getattr(snap, "sleep_held", False):
        text += "; sleep held until it ends"
    return _short(text + tooltip_note(snap) + schedule_tooltip(snap.schedules), TOOLTIP_LIMIT)


def _megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


PREROLL_PRESETS: tuple[float, ...] = (0.0, 10.0, 30.0, 60.0, 120.0)
SILENCE_PRESETS: tuple[float, ...] = (0.0, 2.0, 5.0, 10.0, 30.0)


def preroll_label(seconds: float, rate: int = 48000, channels: int = 2, sample_bytes: int = 2) -> str:
    """A pre-roll choice with the memory it takes: N x rate x channels x bytes."""
    if not seconds:
        return "Off"
    size = round(seconds * rate) * channels * sample_bytes
    return f"{seconds:g} s ({seconds:g} × {rate} × {channels} × {sample_bytes} B = {_megabytes(size)})"


class Tray:
    """The tray icon, menu and tooltip for one controller."""

    _autostart: Any = None

    def __init__(
        self,
        submit: Callable[..., None],
        *,
        opener: Callable[[Path], None],
        log_path: Callable[[], Path],
        on_signal: Callable[[], None] | None = None,
        env: dict[str, str] | None = None,
        autostart: Any = None,
    ):
        self._submit = submit
        self._autostart = autostart  # an AutostartSwitch: the "Start at login" checkbox
        self._opener = opener
        self._log_path = log_path
        self._on_signal = on_signal or (lambda: submit(Cmd.QUIT))
        candidates, reason = choose_backends(env)
        self._pystray = _load_pystray(candidates)
        base = self._pystray.Icon
        self.backend = base.__module__.rsplit("._", 1)[-1]
        log.info("tray backend: %s (%s)", self.backend, reason)
        if self.backend == "xorg":
            log.warning("%s", XORG_WARNING)
        self.has_menu = bool(base.HAS_MENU)
        self.has_notification = bool(getattr(base, "HAS_NOTIFICATION", False))
        self._gtk = self.backend in ("gtk", "appindicator")
        self._folder_dialog = FolderDialog(lambda folder: self._submit(Cmd.SET, ("folder", folder)))
        cls = _with_extras(base, self.backend, self._signal, on_activate=self._cmd(Cmd.TOGGLE))
        self._snap = Snapshot()
        self._menu_key: tuple | None = None
        self._image = state_image(State.IDLE)
        self._mailbox = Mailbox()
        self._stopping = threading.Event()
        self._ui_thread = threading.Thread(target=self._ui_loop, name="trayrip-tray-ui", daemon=True)
        self.icon = cls(
            APP_ID,
            icon=self._image,
            title=tooltip(self._snap),
            menu=self._pystray.Menu(self._menu_items),
        )

    # -- any thread ----------------------------------------------------------
    def update(self, snap: Snapshot) -> None:
        """Show ``snap`` (controller thread: O(1), the UI thread does the work)."""
        self._mailbox.put(snap)

    def notify(self, message: str, title: str) -> None:
        """pystray's own notification (fallback for the notifier; any thread)."""
        if self.has_notification:
            self.icon.notify(message, title)
        else:
            raise TrayripError(f"the {self.backend} tray backend cannot show notifications")

    def stop(self) -> None:
        """End the tray loop (any thread, O(1)); ``run`` then returns.

        The tray UI thread makes the actual ``icon.stop()`` call, so that every
        pystray call comes from that one thread (pystray's xorg backend funnels
        calls from other threads through one shared reply queue, and two
        threads at once can leave one of them waiting forever).
        """
        self._stopping.set()
        self._mailbox.close()

    # -- main thread -------------------------------------------------------------
    def run(self) -> None:
        """Run the tray loop until :meth:`stop` (main thread)."""
        if not self._gtk:  # the GTK backends take signals through GLib (see _with_extras)
            for sig in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
                if sig is not None:
                    signal.signal(sig, lambda *_: self._signal())
        try:
            self.icon.run(setup=self._setup)
        except BaseException:
            self._stopping.set()
            self._mailbox.close()
            try:  # pystray's setup thread is not a daemon and waits for the loop: release it
                self.icon._mark_ready()
            except Exception:
                pass
            raise

    def _signal(self) -> None:
        log.info("signal received: finishing and quitting")
        self._on_signal()

    def _setup(self, icon) -> None:  # pystray's setup thread, once the loop runs
        if self._stopping.is_set():  # stop() came first, or the loop failed to start
            icon.stop()
            return
        icon.visible = True
        self._ui_thread.start()
        if self._gtk:  # the first "Choose folder…" must not wait for GTK's first file chooser
            self._folder_dialog.warm()
            self._recent_watch = watch_recent(lambda: self._submit(Cmd.RECENT))  # terminal, schedule recordings
        if self._autostart is not None:  # the checkbox follows `trayrip autostart on|off` too
            self._autostart.watch(lambda: self._mailbox.put_if_empty(self._snap))

    # -- tray UI thread ------------------------------------------------------------
    def _ui_loop(self) -> None:
        while True:
            snap = self._mailbox.get()
            if snap is None:
                break
            try:
                self._apply(snap)
            except Exception:  # never a silently dead UI thread
                log.exception("updating the tray icon failed")
        try:
            self.icon.stop()
        except Exception:
            log.exception("stopping the tray icon failed")

    def _apply(self, snap: Snapshot) -> None:
        self._snap = snap  # read by the menu builder on the main thread (one atomic reference)
        level = snap.level_db if snap.state is State.RECORDING else None
        image = state_image(snap.state, level)
        if image is not self._image:  # cached images: identity means "unchanged"
            self._image = image
            self.icon.icon = image
        title = tooltip(snap)
        if self.backend == "xorg":  # an X window name: Latin-1 only
            title = title.replace("…", "...").encode("latin-1", "replace").decode("latin-1")
        self.icon.title = title  # pystray skips an unchanged title
        key = menu_key(snap, getattr(self._autostart, "enabled", None))
        if key != self._menu_key and self.has_menu:
            self._menu_key = key
            self.icon.update_menu()

    # -- menu (built on the main thread from the newest snapshot) --------------
    def _menu_items(self):
        p = self._pystray
        Item, Menu, SEP = p.MenuItem, p.Menu, p.Menu.SEPARATOR
        snap = self._snap
        cfg = snap.config
        key = key_label(snap)
        recording = snap.state is State.RECORDING
        armed = snap.state is State.ARMED
        items = [
            Item(
                f"Stop recording ({key})" if recording else f"Stop waiting ({key})" if armed else f"Start recording ({key})",
                self._cmd(Cmd.TOGGLE),
                default=True,
                enabled=not snap.quitting,
            ),
            Item(
                "Arm: record when sound starts",
                self._cmd(Cmd.ARM),
                checked=lambda _i: armed,
                enabled=not snap.quitting and not recording,
            ),
        ]
        save, status = save_last_line(snap, snap.quitting or recording or armed), status_line(snap)  # fixed places
        items += [
            Item(save.text, self._cmd(Cmd.SAVE_PREROLL), enabled=save.enabled),
            Item(status.text, self._cmd(Cmd.EDIT_CONFIG) if status.enabled else None, enabled=status.enabled),
            Item("Clear error", self._cmd(Cmd.DISMISS), enabled=snap.state is State.ERROR),
            SEP,
            Item("Open recordings folder", self._cmd(Cmd.OPEN_FOLDER)),
            Item("Recent recordings", Menu(*self._recent_items(snap))),
            Item("Schedules", Menu(*schedule_items(Item, Menu, snap.schedules, lambda x: self._cmd(Cmd.SCHEDULES, x)))),
            Item("Settings", Menu(*self._settings_items(snap, cfg))),
            Item("Open log", self._open(self._log_path)),
            SEP,
            Item("Quit", self._cmd(Cmd.QUIT)),
        ]
        return items

    def _recent_items(self, snap: Snapshot):
        Item = self._pystray.MenuItem
        if not snap.recent:
            return [Item("(none yet)", None, enabled=False)]
        return [Item(_short(recent_label(p, snap.folder), 60), self._open(lambda p=p: p)) for p in snap.recent]

    def _settings_items(self, snap: Snapshot, cfg):
        p = self._pystray
        Item, Menu, SEP = p.MenuItem, p.Menu, p.Menu.SEPARATOR

        def radio(label: str, key: str, value: Any) -> Any:
            return Item(label, self._cmd(Cmd.SET, (key, value)), checked=lambda _i: getattr(cfg, key) == value, radio=True)

        formats = [radio(label, "format", value) for value, label in FORMATS.items()]

        devices = [radio("What the computer plays (default)", "device", "")]
        listed = {d.value for d in snap.devices}
        devices += [radio(_short(d.label, 60), "device", d.value) for d in snap.devices]
        if cfg.device and cfg.device not in listed:
            devices.append(radio(_short(f"{cfg.device} (from the config)", 60), "device", cfg.device))
        if snap.devices_note:
            devices.append(Item(_short(snap.devices_note, 60), None, enabled=False))
        devices += [SEP, Item("Refresh device list", self._cmd(Cmd.REFRESH_DEVICES))]

        sources = [radio("All system audio (default)", "app", "")]
        sources += [radio(_short(a, 60), "app", a) for a in snap.apps]
        if cfg.app and cfg.app not in snap.apps:
            sources.append(radio(_short(f"{cfg.app} (not playing now)", 60), "app", cfg.app))
        sources += [SEP, Item("Muted while recording", self._cmd(Cmd.SET, ("app_muted", not cfg.app_muted)), enabled=bool(
            cfg.app), checked=lambda _i: cfg.app_muted), Item("Refresh list", self._cmd(Cmd.REFRESH_DEVICES))]

        thresholds = [radio(f"{t:g} dBFS", "threshold_db", t) for t in THRESHOLD_PRESETS]
        if cfg.threshold_db not in THRESHOLD_PRESETS:
            thresholds.append(radio(f"{cfg.threshold_db:g} dBFS (from the config)", "threshold_db", cfg.threshold_db))

        hotkeys = [radio(display_name(h), "hotkey", h) for h in PRESETS]
        if cfg.hotkey not in PRESETS:
            hotkeys.append(radio(f"{key_label(snap)} (from the config)", "hotkey", cfg.hotkey))
        hotkeys += [SEP, Item("Other: edit the config file…", self._cmd(Cmd.EDIT_CONFIG))]

        bits = 3 if cfg.bits == 24 else 2
        prerolls = [radio(preroll_label(t, cfg.rate or 48000, 2, bits), "preroll_seconds", t) for t in PREROLL_PRESETS]
        if cfg.preroll_seconds not in PREROLL_PRESETS:
            prerolls.append(radio(f"{preroll_label(cfg.preroll_seconds, cfg.rate or 48000, 2, bits)} (from the config)",
                                  "preroll_seconds", cfg.preroll_seconds))
        silences = [radio(f"after {t:g} s" if t else "Off", "stop_on_silence", t) for t in SILENCE_PRESETS]
        if cfg.stop_on_silence not in SILENCE_PRESETS:
            silences.append(radio(f"after {cfg.stop_on_silence:g} s (from the config)", "stop_on_silence", cfg.stop_on_silence))

        folder = str(snap.folder) if snap.folder else "Music/playlists"
        folders = [
            Item(_short(folder, 60), None, enabled=False),
            Item("Choose folder…", self._choose_folder),
            Item("Use Music/playlists", self._cmd(Cmd.SET, ("folder", "")), enabled=bool(cfg.folder)),
        ]
        return [
            Item("Format", Menu(*formats)),
            Item("Device", Menu(*devices)),
            Item("Record from", Menu(*sources)),
            Item("Trim silence", self._cmd(Cmd.SET, ("trim", not cfg.trim)), checked=lambda _i: cfg.trim),
            Item("Silence threshold", Menu(*thresholds)),
            Item("Split into tracks at silences", self._cmd(Cmd.SET, ("split", not cfg.split)), checked=lambda _i: cfg.split),
            Item("Split at track changes", self._cmd(Cmd.SET, ("tracks", not cfg.tracks)), checked=lambda _i: cfg.tracks),
            Item("Stop on silence", Menu(*silences)),
            Item("Pre-roll: keep the last seconds", Menu(*prerolls)),
            Item("Hotkey", Menu(*hotkeys)),
            Item("Output folder", Menu(*folders)),
            Item("ReplayGain loudness tags", self._cmd(Cmd.SET, ("replaygain", not cfg.replaygain)),
                 checked=lambda _i: cfg.replaygain),
            Item("Notifications", self._cmd(Cmd.SET, ("notifications", not cfg.notifications)),
                 checked=lambda _i: cfg.notifications),
            *self._autostart_items(),
            SEP,
            Item("Edit config file…", self._cmd(Cmd.EDIT_CONFIG)),
            Item("Reload config file", self._cmd(Cmd.RELOAD_CONFIG)),
        ]

    def _autostart_items(self) -> list:
        switch = self._autostart
        if switch is None:
            return []

        def toggle(_icon=None, _item=None) -> None:  # main thread: O(1), the switch's thread writes
            switch.request(not switch.enabled)

        return [self._pystray.MenuItem("Start at login", toggle, checked=lambda _i: switch.enabled)]

    # menu callbacks (main thread): O(1) -- submit, or queue a file to open
    def _cmd(self, cmd: Cmd, payload: Any = None):
        def action(_icon=None, _item=None) -> None:
            self._submit(cmd, payload)

        return action

    def _open(self, path: Callable[[], Path]):
        def action(_icon=None, _item=None) -> None:
            self._opener(path())

        return action

    def _choose_folder(self, _icon=None, _item=None) -> None:
        """A non-modal folder chooser (GTK backends); otherwise the config file."""
        if not self._gtk:
            self._submit(Cmd.EDIT_CONFIG)
            return
        try:
            self._folder_dialog.open(self._snap.folder)
        except Exception:
            log.exception("the folder chooser failed; opening the config file instead")
            self._submit(Cmd.EDIT_CONFIG)


def _xorg_icon(base):
    """pystray's xorg Icon with its X connection used by one thread only, and docked once.

    * pystray runs ``_update_icon``/``_show``/``_stop``... on its X loop by
      sending itself a ClientMessage -- through the loop's own Xlib
      connection, from the calling thread -- and its default setup shows the
      icon from another thread. Two threads on one python-xlib connection
      deadlocked here now and then (the loop stuck in a reply wait), which
      froze start-up or Quit. Here the icon is shown on the loop thread before
      it handles events, and the wake-up messages go through a separate
      connection, so only the loop thread ever uses the loop's connection.
    * pystray asks the tray to dock the icon on every image change; with a
      live meter that is several requests a second, after which trayer
      logged Gtk-CRITICALs and stopped docking icons. A new request is sent
      only when there is no tray manager (start-up, or the tray restarted).
    """
    import Xlib.display
    import Xlib.X

    class Icon(base):
        def _assert_docked(self):  # X loop thread
            if self._systray_manager is None:
                self._dock_window()
            assert self._systray_manager

        def _run(self):  # main thread: the X loop
            self._thread = threading.current_thread()
            try:
                self.visible = True  # here, not from pystray's setup thread
            except Exception:
                log.exception("showing the tray icon failed")
            super()._run()

        def _rewrite_implementation(self, *methods):  # called once from pystray's __init__
            self._trayrip_waker = None
            self._trayrip_waker_lock = threading.Lock()
            handlers = {}
            for original in methods:
                atom = self._display.intern_atom("_PYSTRAY_%s" % original.__name__.upper())
                handlers[atom] = self._trayrip_runner(original)
                setattr(self, original.__name__, self._trayrip_dispatcher(original, atom))

            def on_client_message(event):
                handlers.get(event.client_type, lambda: None)()

            self._message_handlers[Xlib.X.ClientMessage] = on_client_message

        def _trayrip_runner(self, original):
            def run() -> None:  # X loop thread
                try:
                    original()
                    self._queue.put(True)
                except Exception:
                    self._queue.put(sys.exc_info())

            return run

        def _trayrip_dispatcher(self, original, atom):
            def dispatch() -> None:  # any thread
                if threading.current_thread() is getattr(self, "_thread", None):
                    original()
                    return
                with self._trayrip_waker_lock:  # one caller at a time: pystray has one reply queue
                    if self._trayrip_waker is None:
                        self._trayrip_waker = Xlib.display.Display()
                    d = self._trayrip_waker
                    window = d.create_resource_object("window", self._window.id)
                    window.send_event(
                        Xlib.display.event.ClientMessage(
                            type=Xlib.X.ClientMessage, client_type=atom, window=self._window.id,
                            data=(32, (Xlib.X.CurrentTime, 0, 0, 0, 0)),
                        ),
                        event_mask=Xlib.X.NoEventMask,
                    )
                    d.flush()
                    try:
                        result = self._queue.get(timeout=10)
                    except queue.Empty:
                        raise TrayripError("pystray's X loop did not answer (stopped?)") from None
                if result is not True:
                    raise result[1].with_traceback(result[2])

            return dispatch

    Icon.__name__ = Icon.__qualname__ = f"Trayrip{base.__name__}"
    return Icon


_PIXBUFS: dict[tuple[int, int], tuple[Any, Any]] = {}


def _pixbuf(image, size: int):
    """A GdkPixbuf of a (cached, immutable) PIL image at ``size`` px, cached (main thread)."""
    key = (id(image), size)
    hit = _PIXBUFS.get(key)
    if hit is not None and hit[0] is image:
        return hit[1]
    from gi.repository import GdkPixbuf, GLib
    from PIL import Image

    img = image.convert("RGBA")
    if size > 0 and img.size != (size, size):
        img = img.resize((size, size), Image.LANCZOS)
    w, h = img.size
    pix = GdkPixbuf.Pixbuf.new_from_bytes(GLib.Bytes.new(img.tobytes()), GdkPixbuf.Colorspace.RGB, True, 8, w, h, w * 4)
    if len(_PIXBUFS) > 64:
        _PIXBUFS.clear()
    _PIXBUFS[key] = (image, pix)  # keeps the image alive, so its id stays unique
    return pix


_SNI_ITEM = "org.kde.StatusNotifierItem"
_AYATANA_ITEM_PATH = "/org/ayatana/NotificationItem/"


def _answer_sni_activate(on_activate: Callable[[], None]) -> None:
    """Make a left click on a StatusNotifier host start/stop, as on XEmbed trays.

    Hosts such as gtk-sni-tray send a left click as the item's ``Activate``
    method; libayatana-appindicator's item has no such method (the call fails
    and nothing happens). A filter on the session connection the library
    shares with us answers that call and hands the click on.
    """
    from gi.repository import Gio

    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)

    def on_message(connection, message, incoming, *_):  # GDBus worker thread: O(1) only
        if (
            incoming
            and message.get_message_type() == Gio.DBusMessageType.METHOD_CALL
            and message.get_interface() == _SNI_ITEM
            and message.get_member() == "Activate"
            and (message.get_path() or "").startswith(_AYATANA_ITEM_PATH)
        ):
            connection.send_message(message.new_method_reply(), Gio.DBusSendMessageFlags.NONE)
            on_activate()
            return None  # handled: the library never sees it
        return message

    bus.add_filter(on_message)


def _with_extras(base, backend: str, on_signal: Callable[[], None], on_activate: Callable[[], None] | None = None):
    """The backend's Icon class plus a real tooltip (gtk), GLib signal handling (GTK backends),
    a quiet exit without a notification daemon, and left click = ``on_activate`` on StatusNotifier hosts."""
    if backend == "xorg":
        return _xorg_icon(base)
    if backend not in ("gtk", "appindicator"):
        return base
    from gi.repository import GLib

    class _NoNotifier:
        def notify(self, *_args) -> None:
            raise TrayripError("no D-Bus session bus")

        def hide(self) -> None:
            pass

    def _quiet_hide(hide):
        def quiet() -> None:  # main thread, when pystray finalizes the icon
            try:
                hide()
            except GLib.Error as exc:  # no notification daemon (bare window managers): nothing to hide
                log.debug("closing the tray's notification: %s", exc.message)

        return quiet

    class Icon(base):
        def _initialize(self):  # main thread, as the loop starts
            try:
                super()._initialize()  # pystray resets SIGINT to its default here; taken back below
            except GLib.Error as exc:  # its notifier needs a session bus; the icon and menu do not
                log.warning("no D-Bus session bus (%s): tray notifications are off", exc.message)
                self._notifier = _NoNotifier()
                self._mark_ready()
            else:
                self._notifier.hide = _quiet_hide(self._notifier.hide)
                if backend == "appindicator" and on_activate is not None:
                    try:
                        _answer_sni_activate(on_activate)
                    except GLib.Error as exc:
                        log.info("left click on StatusNotifier hosts stays the menu: %s", exc.message)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, self._trayrip_signal)

        @staticmethod
        def _trayrip_signal(*_args) -> bool:
            on_signal()
            return True  # keep the handler: a second signal must not kill a recording being saved

        if backend == "gtk":
            # Gtk.StatusIcon directly: the image as a pixbuf at the tray's own size (pystray
            # would encode a PNG file and GTK decode and scale it on every meter change), and
            # the title as a real hover tooltip (pystray only sets the accessible title).

            def _update_icon(self):  # any thread
                GLib.idle_add(self._trayrip_set_image)

            def _trayrip_set_image(self) -> bool:  # main thread
                image = self.icon
                if image is None:
                    return False
                if self._icon_path is None:  # pystray's own notifier shows this file
                    self._update_fs_icon()
                self._status_icon.set_from_pixbuf(_pixbuf(image, self._status_icon.get_size()))
                self._icon_valid = True
                return False

            def _update_title(self):  # any thread; the accessible title stays "trayrip"
                GLib.idle_add(self._trayrip_tooltip)

            def _show(self):
                super()._show()
                GLib.idle_add(self._trayrip_tooltip)

            def _trayrip_tooltip(self) -> bool:  # main thread
                if self._status_icon.get_title() != APP_ID:
                    self._status_icon.set_title(APP_ID)
                self._status_icon.set_tooltip_text(self.title)
                return False

    Icon.__name__ = Icon.__qualname__ = f"Trayrip{base.__name__}"
    return Icon
