"""What a hotkey string means: parsing, validation, canonical and display forms.

Pure (any thread, no display, no pynput): the config file and the menu check a
binding with :func:`parse_hotkey` before anything is bound; the backends in
:mod:`trayrip.desktop.hotkeys` bind the parsed :class:`Hotkey`.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

from .errors import TrayripError

__all__ = ["DEFAULT_HOTKEY", "PRESETS", "HotkeyError", "Hotkey", "parse_hotkey", "display_name", "xdotool_keys"]

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
        parts.append(key.upper() if len(key.upper()) == 1 else key)  # "ß".upper() is "SS": another key
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
