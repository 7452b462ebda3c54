"""Global hotkeys: the backends that bind a combination, and the only pynput import in trayrip.

Threads:

* Parsing lives in :mod:`trayrip.hotkey_syntax` (pure, any thread).
* :class:`HotkeyManager` methods run on the thread that owns it (the app at
  start-up, then the controller thread when the config changes).
* The bound callback runs on pynput's listener thread (``trayrip-hotkey``,
  the OS input hook). It does O(1) work -- the given ``callback`` is expected
  to put a command on a queue -- and never raises: an exception there would
  silently stop the listener (pynput), and a slow callback delays input for
  every program.

Backends sit behind :class:`HotkeyBackend`: pynput (X11, Windows, macOS) and
the xdg-desktop-portal GlobalShortcuts backend (Wayland, in
:mod:`.portal_hotkeys`). :func:`choose_backend` takes the portal on Wayland
when it offers GlobalShortcuts, pynput otherwise. The portal can change under
a bound hotkey (it restarts, the user picks another key): its thread calls
``on_change`` (O(1): it queues a command), and the owner thread then calls
:meth:`HotkeyManager.follow`.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Callable, Mapping, Protocol

from ..hotkey_syntax import Hotkey, HotkeyError, display_name, parse_hotkey

__all__ = [
    "is_wayland",
    "HotkeyBackend",
    "PynputBackend",
    "HotkeyManager",
    "choose_backend",
]

log = logging.getLogger(__name__)

def is_wayland(env: Mapping[str, str] | None = None) -> bool:
    """True in a Wayland session (where pynput only sees keys sent to XWayland windows)."""
    env = os.environ if env is None else env
    return env.get("XDG_SESSION_TYPE", "").lower() == "wayland" or bool(env.get("WAYLAND_DISPLAY"))


WAYLAND_MESSAGE = (
    "This is a Wayland session and no desktop portal offers global shortcuts{why}: hotkeys from X11 "
    "programs (pynput) only see keys typed into X11 windows, so {hotkey} will mostly not work. The tray "
    "menu works. For a keyboard shortcut, bind the command 'trayrip toggle' to a key in your desktop's "
    "keyboard settings."
)

MACOS_PERMISSION_MESSAGE = (
    "macOS has not allowed trayrip to see the keyboard, so the hotkey {hotkey} cannot work. "
    "Open System Settings > Privacy & Security > Accessibility (and Input Monitoring), "
    "add and enable the program that runs trayrip (Terminal, or Python), then start trayrip again. "
    "The tray menu works meanwhile."
)


class HotkeyBackend(Protocol):
    """Binds one global hotkey at a time."""

    name: str

    def bind(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        """Replace the current binding; raise HotkeyError if this one cannot be used."""

    def unbind(self, wait: float = 0.5) -> None:
        """Remove the binding (idempotent); wait up to ``wait`` s for the hook thread to end."""

    def problem(self) -> str | None:
        """Why the bound hotkey cannot fire (e.g. missing permission), or None."""


class PynputBackend:
    """pynput's ``GlobalHotKeys`` (X11 via RECORD, Windows hooks, macOS event taps)."""

    name = "pynput"

    def __init__(self, platform: str = sys.platform):
        self._platform = platform
        self._listener = None
        self._problem: str | None = None
        self._hotkey: Hotkey | None = None

    @staticmethod
    def _keyboard():
        try:
            from pynput import keyboard  # the only pynput import in trayrip
        except Exception as exc:  # ImportError, or Xlib errors without a display
            detail = str(exc).strip().splitlines()
            raise HotkeyError(
                "global hotkeys are unavailable: pynput cannot start"
                + (f" ({detail[0]})" if detail else "")
                + "; is there an X11 display (DISPLAY)?"
            ) from None
        return keyboard

    def bind(self, hotkey: Hotkey, callback: Callable[[], None]) -> None:
        keyboard = self._keyboard()
        try:
            keyboard.HotKey.parse(hotkey.canonical)
        except ValueError as exc:
            raise HotkeyError(f"pynput does not know the hotkey {hotkey.canonical!r} here: {exc}") from None
        if len(hotkey.key) == 1 and self._platform.startswith("linux"):
            self._check_keymap(keyboard, hotkey)

        def fire() -> None:  # pynput's thread: O(1), never raises
            try:
                callback()
            except Exception:  # an exception would silently stop the listener
                log.exception("hotkey callback failed")

        listener = keyboard.GlobalHotKeys({hotkey.canonical: fire})
        listener.name = "trayrip-hotkey"
        listener.daemon = True
        self.unbind()  # a stopped listener cannot restart: make a new one each time
        listener.start()
        listener.wait()
        self._listener, self._hotkey = listener, hotkey
        self._problem = None
        if self._platform == "darwin" and getattr(listener, "IS_TRUSTED", True) is False:
            self._problem = MACOS_PERMISSION_MESSAGE.format(hotkey=display_name(hotkey, "darwin"))
        elif not listener.is_alive():
            self._problem = "the hotkey listener stopped at once (see the log)"

    @staticmethod
    def _check_keymap(keyboard, hotkey: Hotkey) -> None:
        """X11: refuse a character no key of the layout types (ß on a US layout): it would never fire."""
        try:
            mapping = keyboard.Controller().keyboard_mapping  # keysym -> key code, from the X server
        except Exception as exc:  # not the X11 backend, or no mapping: nothing to check against
            log.debug("keyboard mapping unavailable: %s", exc)
            return
        code = ord(hotkey.key)
        keysym = code if code < 0x100 else code | 0x01000000  # X11's keysym for a Unicode character
        if mapping and keysym not in mapping:
            raise HotkeyError(
                f"hotkey {display_name(hotkey)}: no key of this keyboard layout types {hotkey.key!r}, so it "
                f"would never fire; choose a key on the keyboard, e.g. <ctrl>+<alt>+<shift>+r"
            )

    def unbind(self, wait: float = 0.5) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()  # on X11 its thread ends at the next input event: waiting is optional
            if wait and listener is not threading.current_thread():
                listener.join(wait)

    def problem(self) -> str | None:
        if self._problem is None and self._listener is not None and not self._listener.is_alive():
            return "the hotkey listener stopped (see the log)"
        return self._problem


def choose_backend(
    env: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    portal_probe: Callable[[], str | None] | None = None,
) -> tuple[HotkeyBackend, str | None]:
    """The backend for this session, and why the portal was not taken (None if it was or is not wanted).

    Wayland on Linux: the GlobalShortcuts portal when it answers, else pynput
    (which still sees XWayland windows). Everywhere else: pynput.
    """
    env = os.environ if env is None else env
    if platform.startswith("linux") and is_wayland(env):
        from .portal_hotkeys import PortalBackend, portal_offers_shortcuts

        why = (portal_probe or portal_offers_shortcuts)()
        if why is None:
            return PortalBackend(), None
        log.info("not using the desktop portal for the hotkey: %s", why)
        return PynputBackend(platform), why
    return PynputBackend(platform), None


class HotkeyManager:
    """Keeps one global hotkey bound to ``callback``; reports problems as text, never raises.

    ``bind`` returns None when the hotkey works, else a message for the user.
    A binding that fails validation leaves the previous one in place.
    """

    def __init__(
        self,
        callback: Callable[[], None],
        backend: HotkeyBackend | None = None,
        *,
        env: Mapping[str, str] | None = None,
        platform: str = sys.platform,
        on_change: Callable[[], None] | None = None,
    ):
        self._callback = callback
        self._env = os.environ if env is None else env
        self._portal_why: str | None = None
        if backend is None:
            backend, self._portal_why = choose_backend(self._env, platform)
        self._backend = backend
        self._on_change = on_change if hasattr(backend, "follow") else None  # only the portal changes by itself
        if self._on_change is not None:
            backend.on_change = on_change  # type: ignore[attr-defined]
        self._platform = platform
        self._wayland_warned = False
        self.hotkey: Hotkey | None = None  # what is bound now
        self.problem: str | None = None  # why it may not fire

    def bind(self, text: str) -> str | None:
        """Validate and bind ``text`` (controller/app thread). Returns a problem message or None."""
        try:
            hotkey = parse_hotkey(text)
        except HotkeyError as exc:
            kept = f"; keeping {display_name(self.hotkey, self._platform)}" if self.hotkey else ""
            message = f"{exc}{kept}"
            log.warning("%s", message)
            return message
        if hotkey == self.hotkey and self.problem is None:
            return None
        try:
            self._backend.bind(hotkey, self._callback)
        except HotkeyError as exc:  # the backend refused it before unbinding: the previous binding stays
            self.problem = str(exc) + (f"; keeping {display_name(self.hotkey, self._platform)}" if self.hotkey else "")
            log.warning("%s", self.problem)
            if self._on_change is not None:
                self._on_change()
            return self.problem
        except Exception as exc:  # a backend failing in an unforeseen way must not kill the app
            log.exception("binding the hotkey %s failed", hotkey.canonical)
            self.problem = f"the hotkey {display_name(hotkey, self._platform)} could not be bound: {exc}"
            return self.problem
        self.hotkey = hotkey
        self.problem = self._backend.problem()
        if (self.problem is None and self._backend.name != "portal" and is_wayland(self._env)
                and self._platform.startswith("linux")):
            why = f" ({self._portal_why})" if self._portal_why else ""
            self.problem = WAYLAND_MESSAGE.format(hotkey=display_name(hotkey, self._platform), why=why)
        wayland = self.problem is not None and self.problem.startswith("This is a Wayland session")
        if self.problem and not (wayland and self._wayland_warned):
            log.warning("%s", self.problem)  # the Wayland warning only once per run
        self._wayland_warned = self._wayland_warned or wayland
        if not self.problem:
            log.info("global hotkey %s bound (%s)", display_name(hotkey, self._platform), self._backend.name)
        if self._on_change is not None:  # the owner learns the key the desktop bound through follow()
            self._on_change()
        return self.problem

    @property
    def trigger(self) -> str | None:
        """The key the desktop says it bound (portal), as trayrip shows keys; None: the configured one."""
        return getattr(self._backend, "trigger_label", None)

    def follow(self) -> tuple[str | None, str | None]:
        """Apply what the backend reported since ``on_change`` (owner thread): (problem, bound key); never raises."""
        follow = getattr(self._backend, "follow", None)
        if follow is not None:
            try:
                follow()
                self.problem = self._backend.problem()
            except Exception as exc:  # a backend failing in an unforeseen way must not kill the controller
                log.exception("following the hotkey backend failed")
                self.problem = f"the hotkey backend failed: {exc}"
        return self.problem, self.trigger

    def stop(self) -> None:
        """Remove the binding (app thread, at exit)."""
        try:
            self._backend.unbind(wait=0)  # a daemon thread: exiting must not wait for the next key press
        except Exception:
            log.exception("removing the hotkey failed")
