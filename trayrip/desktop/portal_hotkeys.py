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
  The portal leaving or returning (``NameOwnerChanged``), our session
  ``Closed``, ``ShortcutsChanged`` and a late ``BindShortcuts`` answer become
  :class:`~.portal_follow.PortalEvent` items for the owner thread; ``on_change``
  (O(1), it queues a command) tells that thread to call :meth:`PortalBackend.follow`,
  which binds again when the portal is back and keeps the trigger the desktop
  actually bound in :attr:`PortalBackend.trigger`.
"""
from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import time
from typing import Callable

from ..hotkey_syntax import Hotkey, HotkeyError, display_name, parse_hotkey
from ..sessionbus import BusError, DBusAddress, HeaderFields, MatchRule, SessionBus, new_method_call, unwrap_variants
from .portal_follow import GONE_MESSAGE, PORTAL_NAME, SHORTCUT_ID, PortalEvent, bound_trigger, classify, fold

__all__ = ["APP_ID", "SHORTCUT_ID", "GONE_MESSAGE", "PortalBackend", "portal_trigger", "trigger_label",
           "portal_offers_shortcuts"]

log = logging.getLogger(__name__)

APP_ID = "trayrip"  # the installed trayrip.desktop
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


_XDG_MODIFIERS = {"ctrl": "ctrl", "control": "ctrl", "alt": "alt", "shift": "shift", "logo": "cmd", "super": "cmd",
                  "meta": "cmd"}
_XDG_KEYS = {**{sym.lower(): f"<{name}>" for name, sym in _KEYSYMS.items()},
             **{sym.lower(): char for char, sym in _PUNCTUATION.items()}}


def trigger_label(description: str) -> str:
    """The desktop's trigger (``CTRL+ALT+SHIFT+r``, ``Ctrl+Alt+F9``) the way trayrip shows keys; as given if unknown."""
    *mods, key = [part.strip() for part in description.split("+")]
    names = [_XDG_MODIFIERS.get(m.lower()) for m in mods]
    name = _XDG_KEYS.get(key.lower()) or (key.lower() if len(key) == 1 else None)
    if name is None or None in names:
        return description
    try:
        return display_name(parse_hotkey("+".join([f"<{m}>" for m in names] + [name])), "linux")
    except HotkeyError:
        return description


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
    """One GlobalShortcuts session with one shortcut, rebuilt on every :meth:`bind` and when the portal returns."""

    name = "portal"

    def __init__(
        self,
        bus_factory: Callable[[], SessionBus] = SessionBus,
        app_id: str = APP_ID,
        timeout: float = 10.0,
        confirm_timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
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
        self._late: dict[str, tuple[str, str | None]] = {}  # request path -> (method, session), answered late
        self._events: queue.SimpleQueue = queue.SimpleQueue()  # PortalEvents for the owner thread
        self._clock = clock
        self._hotkey: Hotkey | None = None
        self._owner: str | None = None  # the portal's unique bus name our session lives on
        self._last_reclose: float | None = None  # when a session the desktop closed was last re-created
        self.trigger: str | None = None  # what the desktop says the key is
        self.on_change: Callable[[], None] | None = None  # called (O(1), portal thread) when follow() has work

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
            # the portal leaving and coming back (a crash, an upgrade), our session closed, the key changed
            owner = MatchRule(type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus",
                              member="NameOwnerChanged", path="/org/freedesktop/DBus")
            owner.add_arg_condition(0, PORTAL_NAME)
            bus.subscribe(owner, into=signals)
            sessions = f"{PORTAL_PATH}/session/{_token_part(bus.unique_name)}"
            bus.subscribe(MatchRule(type="signal", interface=SESSION, member="Closed", path_namespace=sessions),
                          into=signals)
            bus.subscribe(MatchRule(type="signal", interface=SHORTCUTS, member="ShortcutsChanged", path=PORTAL_PATH),
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
                self._late[path] = (method, self._session)
                return None
            return int(code), unwrap_variants(results)
        finally:
            self._waiting.pop(path, None)

    # -- HotkeyBackend ----------------------------------------------------------
    def bind(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        """Create a fresh session and bind ``hotkey`` as its one shortcut (owner thread)."""
        try:
            self._bind(hotkey, callback)
        except HotkeyError as exc:
            self._problem = str(exc)
            raise

    def _bind(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        self.trigger = None  # unknown until the desktop says
        try:
            self._connect()
            self._close_session()
            self._callback, self._hotkey = callback, hotkey
            answer = self._request(
                "CreateSession", "a{sv}", ({"session_handle_token": ("s", f"trayrip{os.getpid()}_{next(self._tokens)}")},),
                self._timeout,
            )
            if answer is None or answer[0] != 0:
                raise HotkeyError(f"the desktop portal did not open a global-shortcuts session ({_why(answer)})")
            self._session = str(answer[1]["session_handle"])
            self._owner = self._bus.name_owner(PORTAL_NAME) if self._bus is not None else None
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
        self.trigger = bound_trigger(results.get("shortcuts", [])) or trigger
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

    @property
    def trigger_label(self) -> str | None:
        """The key the desktop bound, as trayrip shows keys; None until it says."""
        return trigger_label(self.trigger) if self.trigger else None

    def follow(self) -> None:
        """Apply what the portal said since the last call (owner thread, after ``on_change``).

        The portal gone: say so and wait. Back (or our session closed): register and bind
        again by ourselves (this waits for the portal, like :meth:`bind`).
        """
        events: list[PortalEvent] = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        if not events:
            return
        now, before = self._clock(), self.trigger
        plan = fold(events, self._problem, self.trigger, self._session, now, self._last_reclose, self._owner)
        self._problem, self.trigger = plan.problem, plan.trigger
        if plan.gone:
            self._session = None  # it went with the portal
            log.warning("the desktop portal left the session bus: %s", GONE_MESSAGE)
        if self.trigger != before:
            log.info("the desktop bound the shortcut to %s", self.trigger_label or "no key")
        if plan.rebind is None or self._hotkey is None or self._callback is None or self._bus is None:
            return
        if plan.rebind == "closed":
            self._last_reclose = now
            log.warning("the desktop closed trayrip's shortcut session; opening a new one")
        else:
            log.info("the desktop portal is back; binding the shortcut again")
        self._session = None  # closed or gone with the old portal: nothing to close
        self._register(self._bus)  # a new portal (1.19.4+) wants to know who we are again
        try:
            self.bind(self._hotkey, self._callback)
        except HotkeyError as exc:
            log.warning("binding the shortcut again failed: %s", exc)
            return
        log.info("the shortcut is bound again (%s)", self.trigger_label or "no key named")

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
                        self._late_answer(*self._late.pop(path), msg.body)
                    continue
                member = msg.header.fields.get(HeaderFields.member)
                if member != "Activated":
                    self._queue_event(classify(member, msg.header.fields.get(HeaderFields.path), msg.body,
                                               self._session))
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

    def _queue_event(self, event: PortalEvent | None) -> None:
        """Hand ``event`` to the owner thread (portal thread, O(1))."""
        if event is None:
            return
        self._events.put(event)
        wake = self.on_change
        if wake is not None:
            wake()

    def _late_answer(self, method: str, session: str | None, body: tuple) -> None:
        """The desktop answered after we stopped waiting (e.g. the user confirmed the shortcut later)."""
        code = int(body[0])
        if method != "BindShortcuts":
            log.info("late portal answer to %s: %s", method, _why((code, {})))
            return
        results = unwrap_variants(body[1]) if len(body) > 1 else {}
        trigger = bound_trigger(results.get("shortcuts", []))
        log.info("the desktop answered the shortcut request late: %s%s", "bound" if code == 0 else _why((code, {})),
                 f" to {trigger}" if trigger else "")
        self._queue_event(PortalEvent("bound", session=session, trigger=trigger, code=code))


def _why(answer: tuple[int, dict] | None) -> str:
    if answer is None:
        return "no answer"
    return {1: "cancelled by the user", 2: "refused or failed"}.get(answer[0], f"response {answer[0]}")
