"""Global hotkeys on Wayland through the xdg-desktop-portal GlobalShortcuts interface.

The desktop, not trayrip, owns the key: trayrip asks the portal
(``org.freedesktop.portal.Desktop``) for a session (``CreateSession``),
offers one shortcut with a preferred trigger (``BindShortcuts``; the desktop
may ask the user to confirm or pick another key), and the portal emits
``Activated`` when it is pressed. Implemented by KDE Plasma 5.27+, GNOME 48+
and Hyprland's portal; not by wlroots/sway. Portals from 1.19.4 want a host
(non-Flatpak) app to name itself first through
``org.freedesktop.host.portal.Registry.Register``, with the id the
``.desktop`` file is named after (:data:`APP_ID`); older portals (Debian 12
has 1.16) lack that interface, which is fine.

Threads:

* :class:`PortalBackend` methods run on the thread that owns the
  :class:`~trayrip.desktop.hotkeys.HotkeyManager` (the app at start-up, then
  the controller). They wait for the portal's answers with a time-out.
* jeepney's receiver thread puts the portal's signals on a queue (O(1)).
* ``trayrip-portal`` takes ``Activated`` off that queue and calls the
  callback, which only queues a command for the controller (O(1)).
"""
from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
from typing import Callable

from ..hotkey_syntax import Hotkey, HotkeyError, display_name
from ..sessionbus import BusError, DBusAddress, HeaderFields, MatchRule, SessionBus, new_method_call, unwrap_variants

__all__ = ["APP_ID", "SHORTCUT_ID", "PortalBackend", "portal_trigger", "portal_offers_shortcuts"]

log = logging.getLogger(__name__)

APP_ID = "trayrip"  # the installed trayrip.desktop
SHORTCUT_ID = "toggle-recording"
PORTAL_NAME = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
REGISTRY = "org.freedesktop.host.portal.Registry"
REQUEST = "org.freedesktop.portal.Request"
SESSION = "org.freedesktop.portal.Session"
_MISSING = {
    "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownInterface",
    "org.freedesktop.DBus.Error.UnknownObject",
}

# XDG shortcuts syntax: modifiers, then an xkb keysym name.
_MODIFIERS = {"ctrl": "CTRL", "alt": "ALT", "shift": "SHIFT", "cmd": "LOGO"}
_KEYSYMS = {
    "backspace": "BackSpace", "caps_lock": "Caps_Lock", "delete": "Delete", "down": "Down", "end": "End",
    "enter": "Return", "esc": "Escape", "home": "Home", "insert": "Insert", "left": "Left", "menu": "Menu",
    "num_lock": "Num_Lock", "page_down": "Next", "page_up": "Prior", "pause": "Pause", "print_screen": "Print",
    "right": "Right", "scroll_lock": "Scroll_Lock", "space": "space", "tab": "Tab", "up": "Up",
    "media_play_pause": "XF86AudioPlay", "media_volume_mute": "XF86AudioMute",
    "media_volume_down": "XF86AudioLowerVolume", "media_volume_up": "XF86AudioRaiseVolume",
    "media_previous": "XF86AudioPrev", "media_next": "XF86AudioNext",
    **{f"f{n}": f"F{n}" for n in range(1, 21)},
}
_PUNCTUATION = {
    "/": "slash", "\\": "backslash", "-": "minus", "=": "equal", ",": "comma", ".": "period", ";": "semicolon",
    "'": "apostrophe", "`": "grave", "[": "bracketleft", "]": "bracketright",
}

NO_PORTAL_MESSAGE = (
    "This is a Wayland session and no desktop portal offers global shortcuts here ({why}), so the hotkey "
    "{hotkey} cannot be bound by trayrip. The tray menu works. For a keyboard shortcut, bind the command "
    "'trayrip toggle' to a key in your desktop's keyboard settings."
)


def portal_trigger(hotkey: Hotkey) -> str | None:
    """The preferred trigger in the XDG shortcuts syntax (``CTRL+ALT+SHIFT+r``), or None if it has no name there."""
    if any(m not in _MODIFIERS for m in hotkey.modifiers):
        return None
    key = hotkey.key
    if len(key) == 1:
        sym = key if key.isalnum() and key.isascii() else _PUNCTUATION.get(key)
    else:
        sym = _KEYSYMS.get(key)
    if sym is None:
        return None
    return "+".join([_MODIFIERS[m] for m in hotkey.modifiers] + [sym])


def portal_offers_shortcuts(bus_factory: Callable[[], SessionBus] = SessionBus) -> str | None:
    """None when the session's portal has GlobalShortcuts, else why not (caller's thread; may start the portal)."""
    try:
        with bus_factory() as bus:
            version = bus.get_property(DBusAddress(PORTAL_PATH, bus_name=PORTAL_NAME), SHORTCUTS, "version")
    except BusError as exc:
        return f"no GlobalShortcuts portal: {exc}"
    log.debug("the portal has GlobalShortcuts version %s", version)
    return None


def _token_part(unique_name: str) -> str:
    return unique_name.lstrip(":").replace(".", "_")


class PortalBackend:
    """One GlobalShortcuts session with one shortcut, rebuilt on every :meth:`bind`."""

    name = "portal"

    def __init__(
        self,
        bus_factory: Callable[[], SessionBus] = SessionBus,
        app_id: str = APP_ID,
        timeout: float = 10.0,
        confirm_timeout: float = 5.0,
    ):
        self._bus_factory = bus_factory
        self._app_id = app_id
        self._timeout = timeout
        # the desktop may show a dialog first; start-up does not wait for the user longer than this
        self._confirm_timeout = confirm_timeout
        self._bus: SessionBus | None = None
        self._signals: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._session: str | None = None
        self._callback: Callable[[], None] | None = None
        self._problem: str | None = None
        self._tokens = itertools.count(1)
        self._waiting: dict[str, queue.Queue] = {}  # request path -> its waiter's slot
        self._late: dict[str, str] = {}  # request path -> method, for answers after the time-out
        self.trigger: str | None = None  # what the desktop says the key is

    # -- connection -----------------------------------------------------------
    def _connect(self) -> SessionBus:
        if self._bus is not None:
            return self._bus
        bus = self._bus_factory()
        try:
            self._register(bus)
            signals = bus.subscribe(
                MatchRule(type="signal", interface=SHORTCUTS, member="Activated", path=PORTAL_PATH), maxsize=64
            )
            # every answer to our requests, routed by the dispatcher to whoever waits for it
            requests = f"{PORTAL_PATH}/request/{_token_part(bus.unique_name)}"
            bus.subscribe(MatchRule(type="signal", interface=REQUEST, member="Response", path_namespace=requests),
                          into=signals)
        except BaseException:
            bus.close()
            raise
        self._bus, self._signals = bus, signals
        self._thread = threading.Thread(target=self._dispatch, args=(signals,), name="trayrip-portal", daemon=True)
        self._thread.start()
        return bus

    def _register(self, bus: SessionBus) -> None:
        """Name ourselves to portals that want it (1.19.4+); older ones lack the interface."""
        registry = DBusAddress(PORTAL_PATH, bus_name=PORTAL_NAME, interface=REGISTRY)
        try:
            bus.call(new_method_call(registry, "Register", "sa{sv}", (self._app_id, {})), timeout=self._timeout)
        except BusError as exc:
            if exc.name in _MISSING:
                log.debug("this portal has no app registry (older than 1.19.4): %s", exc)
            else:
                log.warning("the portal did not register trayrip as %r: %s", self._app_id, exc)
        else:
            log.info("registered with the portal as %r", self._app_id)

    def _request(self, method: str, signature: str, body: tuple, timeout: float) -> tuple[int, dict] | None:
        """Call a portal method that answers with a Request's Response signal; None on time-out.

        An answer after the time-out is handled by the dispatcher (:meth:`_late_answer`).
        """
        bus = self._bus
        assert bus is not None
        token = f"trayrip{os.getpid()}_{next(self._tokens)}"
        path = f"{PORTAL_PATH}/request/{_token_part(bus.unique_name)}/{token}"
        slot: queue.Queue = queue.Queue(maxsize=1)
        self._waiting[path] = slot
        try:
            body[-1]["handle_token"] = ("s", token)
            shortcuts = DBusAddress(PORTAL_PATH, bus_name=PORTAL_NAME, interface=SHORTCUTS)
            (handle,) = bus.call(new_method_call(shortcuts, method, signature, body), timeout=self._timeout)
            if handle != path:  # portals before 0.9 chose their own path (not seen in practice)
                log.warning("the portal answers on %s, not on %s", handle, path)
            try:
                code, results = slot.get(timeout=timeout)
            except queue.Empty:
                self._late[path] = method
                return None
            return int(code), unwrap_variants(results)
        finally:
            self._waiting.pop(path, None)

    # -- HotkeyBackend ----------------------------------------------------------
    def bind(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        """Create a fresh session and bind ``hotkey`` as its one shortcut (owner thread)."""
        try:
            self._connect()
            self._close_session()
            self._callback = callback
            answer = self._request(
                "CreateSession", "a{sv}", ({"session_handle_token": ("s", f"trayrip{os.getpid()}_{next(self._tokens)}")},),
                self._timeout,
            )
            if answer is None or answer[0] != 0:
                raise HotkeyError(f"the desktop portal did not open a global-shortcuts session ({_why(answer)})")
            self._session = str(answer[1]["session_handle"])
            props: dict = {"description": ("s", "Start or stop recording")}
            trigger = portal_trigger(hotkey)
            if trigger:
                props["preferred_trigger"] = ("s", trigger)
            answer = self._request(
                "BindShortcuts", "oa(sa{sv})sa{sv}", (self._session, [(SHORTCUT_ID, props)], "", {}),
                self._confirm_timeout,
            )
        except BusError as exc:
            raise HotkeyError(f"the desktop portal failed: {exc}") from None
        self._problem = None
        if answer is None:
            log.info("the desktop has not confirmed the global shortcut yet (it may be asking the user)")
            return
        code, results = answer
        if code != 0:
            raise HotkeyError(
                f"the desktop did not bind {display_name(hotkey, 'linux')} ({_why(answer)}); "
                "set the 'trayrip' shortcut in its keyboard settings, or bind 'trayrip toggle' there"
            )
        bound = {sid: props for sid, props in results.get("shortcuts", [])}
        self.trigger = (bound.get(SHORTCUT_ID) or {}).get("trigger_description") or trigger
        log.info("the portal bound the shortcut %s (%s)", SHORTCUT_ID, self.trigger or "no trigger named")

    def unbind(self, wait: float = 0.5) -> None:
        """Close the session and the connection (owner thread)."""
        self._callback = None
        bus, signals, thread = self._bus, self._signals, self._thread
        if bus is None:
            return
        try:
            self._close_session()
        except BusError as exc:
            log.debug("closing the portal session: %s", exc)
        self._bus = self._signals = self._thread = None
        if signals is not None:
            bus.unsubscribe(signals)
            signals.put(None)
        if thread is not None and wait and thread is not threading.current_thread():
            thread.join(wait)
        bus.close()

    def problem(self) -> str | None:
        return self._problem

    def __repr__(self) -> str:
        return f"<PortalBackend session={self._session!r} trigger={self.trigger!r}>"

    # -- internals ------------------------------------------------------------
    def _close_session(self) -> None:
        session, self._session = self._session, None
        if session and self._bus is not None:
            self._bus.call(new_method_call(DBusAddress(session, bus_name=PORTAL_NAME, interface=SESSION), "Close"),
                           timeout=self._timeout)

    def _dispatch(self, signals: queue.Queue) -> None:
        """``trayrip-portal``: Activated of our shortcut -> the callback; Responses -> their waiter (O(1) each)."""
        while True:
            msg = signals.get()
            if msg is None:
                return
            try:
                if msg.header.fields.get(HeaderFields.interface) == REQUEST:
                    path = msg.header.fields.get(HeaderFields.path)
                    slot = self._waiting.get(path)
                    if slot is not None:
                        slot.put_nowait(msg.body)
                    elif path in self._late:
                        self._late_answer(self._late.pop(path), msg.body)
                    continue
                session, shortcut = msg.body[0], msg.body[1]
                callback = self._callback
                if session == self._session and shortcut == SHORTCUT_ID and callback is not None:
                    callback()
                else:
                    log.debug("ignored Activated %s for %s from %s", shortcut, session,
                              msg.header.fields.get(HeaderFields.sender))
            except Exception:  # never a silently dead thread
                log.exception("handling a portal signal failed")

    def _late_answer(self, method: str, body: tuple) -> None:
        """The desktop answered after we stopped waiting (e.g. the user confirmed the shortcut later)."""
        code = int(body[0])
        if method != "BindShortcuts":
            log.info("late portal answer to %s: %s", method, _why((code, {})))
            return
        if code == 0:
            self._problem = None
            log.info("the desktop confirmed the global shortcut")
        else:
            self._problem = f"the desktop did not bind the global shortcut ({_why((code, {}))})"
            log.warning("%s", self._problem)


def _why(answer: tuple[int, dict] | None) -> str:
    if answer is None:
        return "no answer"
    return {1: "cancelled by the user", 2: "refused or failed"}.get(answer[0], f"response {answer[0]}")
