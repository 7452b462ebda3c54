"""Global hotkeys: parse/validate combos, and the only pynput import in trayrip.

Threads:

* :func:`parse_hotkey` and friends are pure (any thread, no display needed).
* :class:`HotkeyManager` methods run on the thread that owns it (the app at
  start-up, then the controller thread when the config changes).
* The bound callback runs on pynput's listener thread (``trayrip-hotkey``,
  the OS input hook). It does O(1) work -- the given ``callback`` is expected
  to put a command on a queue -- and never raises: an exception there would
  silently stop the listener (pynput), and a slow callback delays input for
  every program.

Backends sit behind :class:`HotkeyBackend` so that an xdg-desktop-portal
GlobalShortcuts backend (the Wayland way) can slot in beside pynput.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from .errors import TrayripError

__all__ = [
    "DEFAULT_HOTKEY",
    "PRESETS",
    "HotkeyError",
    "Hotkey",
    "parse_hotkey",
    "display_name",
    "xdotool_keys",
    "is_wayland",
    "HotkeyBackend",
    "PynputBackend",
    "HotkeyManager",
]

log = logging.getLogger(__name__)

DEFAULT_HOTKEY = "<ctrl>+<alt>+<shift>+r"

PRESETS: tuple[str, ...] = (
    DEFAULT_HOTKEY,
    "<ctrl>+<alt>+r",
    "<ctrl>+<shift>+<f12>",
    "<alt>+<cmd>+r",
    "<pause>",
)


class HotkeyError(TrayripError, ValueError):
    """A hotkey string that cannot be used; the message says why and what works."""


# Modifiers in canonical order; the values are pynput's names.
_MODIFIERS = ("ctrl", "alt", "shift", "cmd", "alt_gr")
_MODIFIER_SIDES = {
    "ctrl_l": "ctrl",
    "ctrl_r": "ctrl",
    "alt_l": "alt",
    "alt_r": "alt",
    "shift_l": "shift",
    "shift_r": "shift",
    "cmd_l": "cmd",
    "cmd_r": "cmd",
}
# Non-modifier key names known to pynput on every platform.
_NAMED_KEYS = frozenset(
    {
        "backspace", "caps_lock", "delete", "down", "end", "enter", "esc", "home", "insert", "left",
        "menu", "num_lock", "page_down", "page_up", "pause", "print_screen", "right", "scroll_lock",
        "space", "tab", "up",
        "media_play_pause", "media_volume_mute", "media_volume_down", "media_volume_up",
        "media_previous", "media_next",
    }
    | {f"f{n}" for n in range(1, 21)}
)
# Keys that may be a hotkey on their own: typing never produces them.
_STANDALONE = frozenset(
    {"pause", "scroll_lock", "print_screen", "menu", "insert"}
    | {f"f{n}" for n in range(1, 21)}
    | {k for k in _NAMED_KEYS if k.startswith("media_")}
)
_ALIASES = {
    "control": "ctrl",
    "ctl": "ctrl",
    "option": "alt",
    "opt": "alt",
    "altgr": "alt_gr",
    "super": "cmd",
    "win": "cmd",
    "windows": "cmd",
    "meta": "cmd",
    "command": "cmd",
    "logo": "cmd",
    "return": "enter",
    "escape": "esc",
    "del": "delete",
    "ins": "insert",
    "pgup": "page_up",
    "pageup": "page_up",
    "prior": "page_up",
    "pgdn": "page_down",
    "pagedown": "page_down",
    "next": "page_down",
    "print": "print_screen",
    "prtsc": "print_screen",
    "printscreen": "print_screen",
    "scrolllock": "scroll_lock",
    "capslock": "caps_lock",
    "numlock": "num_lock",
    "bksp": "backspace",
}

_HELP = (
    "write it like <ctrl>+<alt>+<shift>+r (modifiers <ctrl> <alt> <shift> <cmd>, "
    "then one key: a character, <f1>..<f20>, <space>, <pause>, ...)"
)


@dataclass(frozen=True)
class Hotkey:
    """A validated combination: sorted modifiers plus exactly one key."""

    modifiers: tuple[str, ...]
    key: str  # a single lower-case character, a pynput Key name, or "vk<code>"

    @property
    def canonical(self) -> str:
        """pynput's syntax, e.g. ``<ctrl>+<alt>+<shift>+r``."""
        return "+".join([f"<{m}>" for m in self.modifiers] + [_key_token(self.key)])


def _key_token(key: str) -> str:
    if len(key) == 1:
        return key
    if key.startswith("vk"):
        return f"<{key[2:]}>"  # a raw virtual key code
    return f"<{key}>"


def _normalise_part(part: str, text: str) -> str:
    raw = part.strip()
    if not raw:
        raise HotkeyError(f"hotkey {text!r} has an empty part (a stray '+'); {_HELP}")
    if raw.startswith("<") and raw.endswith(">") and len(raw) > 2:
        name = raw[1:-1].strip().lower()
        if name.isdigit():
            return f"vk{int(name)}"
    elif len(raw) == 1:
        if not raw.isprintable() or raw.isspace():
            raise HotkeyError(f"hotkey {text!r}: {raw!r} is not a usable key; {_HELP}")
        return raw.lower()
    else:
        name = raw.lower()
    name = name.replace("-", "_").replace(" ", "_")
    name = _ALIASES.get(name, name)
    name = _MODIFIER_SIDES.get(name, name)
    if name in _MODIFIERS or name in _NAMED_KEYS:
        return name
    if len(name) == 1 and name.isprintable():
        return name
    raise HotkeyError(f"hotkey {text!r}: unknown key {raw!r}; {_HELP}")


def parse_hotkey(text: object) -> Hotkey:
    """Validate a hotkey string (pynput syntax or friendly ``Ctrl+Alt+R``); raise HotkeyError.

    Needs no display: this is what the config file and menu use to check a
    binding before anything is (re)bound.
    """
    if not isinstance(text, str):
        raise HotkeyError(f"hotkey must be a string like {DEFAULT_HOTKEY!r}, not {type(text).__name__}")
    if not text.strip():
        raise HotkeyError(f"hotkey is empty; {_HELP}")
    names = [_normalise_part(p, text) for p in text.split("+")]
    mods = [n for n in names if n in _MODIFIERS]
    keys = [n for n in names if n not in _MODIFIERS]
    if len(set(names)) != len(names):
        raise HotkeyError(f"hotkey {text!r} names a key twice")
    if not keys:
        raise HotkeyError(f"hotkey {text!r} has only modifiers; add one key, e.g. {text.strip()}+r")
    if len(keys) > 1:
        shown = ", ".join(_key_token(k) for k in keys)
        raise HotkeyError(f"hotkey {text!r} has several keys ({shown}); use modifiers plus exactly one key")
    key = keys[0]
    if key.startswith("vk"):
        if not mods:
            raise HotkeyError(f"hotkey {text!r}: a key code needs at least one modifier")
    elif key not in _STANDALONE and not (set(mods) - {"shift"}):
        raise HotkeyError(
            f"hotkey {text!r} would fire while typing; add <ctrl>, <alt> or <cmd> "
            f"(e.g. <ctrl>+<alt>+{_key_token(key)}), or use a key like <f9> or <pause>"
        )
    order = {m: i for i, m in enumerate(_MODIFIERS)}
    return Hotkey(tuple(sorted(mods, key=order.__getitem__)), key)


_DISPLAY_MODS = {"ctrl": "Ctrl", "alt": "Alt", "shift": "Shift", "alt_gr": "AltGr"}


def display_name(hotkey: str | Hotkey, platform: str = sys.platform) -> str:
    """A label for menus and messages, e.g. ``Ctrl+Alt+Shift+R``."""
    hk = hotkey if isinstance(hotkey, Hotkey) else parse_hotkey(hotkey)
    cmd = "Cmd" if platform == "darwin" else "Win" if platform.startswith("win") else "Super"
    parts = [_DISPLAY_MODS.get(m, cmd) for m in hk.modifiers]
    key = hk.key
    if len(key) == 1:
        parts.append(key.upper())
    elif key.startswith("vk"):
        parts.append(f"<{key[2:]}>")
    else:
        parts.append(key.replace("_", " ").title().replace(" ", ""))
    return "+".join(parts)


_XDOTOOL_NAMES = {
    "ctrl": "ctrl",
    "alt": "alt",
    "shift": "shift",
    "cmd": "super",
    "alt_gr": "ISO_Level3_Shift",
    "enter": "Return",
    "esc": "Escape",
    "page_up": "Prior",
    "page_down": "Next",
    "print_screen": "Print",
    "scroll_lock": "Scroll_Lock",
    "caps_lock": "Caps_Lock",
    "num_lock": "Num_Lock",
    "backspace": "BackSpace",
    "space": "space",
    "tab": "Tab",
}


def xdotool_keys(hotkey: str | Hotkey) -> str:
    """The same combination in ``xdotool key`` syntax (tests, docs)."""
    hk = hotkey if isinstance(hotkey, Hotkey) else parse_hotkey(hotkey)
    out = [_XDOTOOL_NAMES[m] for m in hk.modifiers]
    key = hk.key
    if len(key) == 1:
        out.append(key)
    elif key.startswith("f") and key[1:].isdigit():
        out.append(key.upper())
    else:
        out.append(_XDOTOOL_NAMES.get(key, key.replace("_", " ").title().replace(" ", "_")))
    return "+".join(out)


def is_wayland(env: Mapping[str, str] | None = None) -> bool:
    """True in a Wayland session (where pynput only sees keys sent to XWayland windows)."""
    env = os.environ if env is None else env
    return env.get("XDG_SESSION_TYPE", "").lower() == "wayland" or bool(env.get("WAYLAND_DISPLAY"))


WAYLAND_MESSAGE = (
    "This is a Wayland session: global hotkeys from X11 programs (pynput) only see keys "
    "typed into X11 windows, so {hotkey} will mostly not work. The tray menu works. "
    "For a keyboard shortcut, bind one in your desktop's keyboard settings to the command "
    "'trayrip': a second trayrip tells the running one to start or stop recording."
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
    ):
        self._callback = callback
        self._backend = backend if backend is not None else PynputBackend(platform)
        self._env = os.environ if env is None else env
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
        except HotkeyError as exc:
            self.problem = str(exc)
            log.warning("%s", exc)
            return self.problem
        except Exception as exc:  # a backend failing in an unforeseen way must not kill the app
            log.exception("binding the hotkey %s failed", hotkey.canonical)
            self.problem = f"the hotkey {display_name(hotkey, self._platform)} could not be bound: {exc}"
            return self.problem
        self.hotkey = hotkey
        self.problem = self._backend.problem()
        if self.problem is None and is_wayland(self._env) and self._platform.startswith("linux"):
            self.problem = WAYLAND_MESSAGE.format(hotkey=display_name(hotkey, self._platform))
        wayland = self.problem is not None and self.problem.startswith("This is a Wayland session")
        if self.problem and not (wayland and self._wayland_warned):
            log.warning("%s", self.problem)  # the Wayland warning only once per run
        self._wayland_warned = self._wayland_warned or wayland
        if not self.problem:
            log.info("global hotkey %s bound (%s)", display_name(hotkey, self._platform), self._backend.name)
        return self.problem

    def stop(self) -> None:
        """Remove the binding (app thread, at exit)."""
        try:
            self._backend.unbind(wait=0)  # a daemon thread: exiting must not wait for the next key press
        except Exception:
            log.exception("removing the hotkey failed")
