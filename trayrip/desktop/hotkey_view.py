"""How the hotkey is shown: the key the desktop bound, or the configured one, and why it may not fire.

Pure functions of a :class:`~trayrip.desktop.controller.Snapshot` (the tray's
UI thread, the ``trayrip-instance`` thread answering ``doctor``). On Wayland
the desktop owns the key and may bind another than the config asks for
(``hotkey_trigger``); that is the one the user must press, so it is shown.
"""
from __future__ import annotations

from ..hotkey_syntax import HotkeyError, display_name
from .tooltip_text import short

__all__ = ["key_label", "tooltip_note", "status_line"]

_TOOLTIP_PROBLEM = 80  # characters; a longer problem is in the menu and the log


def key_label(snap) -> str:
    """The key that starts and stops recording, as the user writes it."""
    trigger = getattr(snap, "hotkey_trigger", None)
    if trigger:
        return trigger
    try:
        return display_name(snap.config.hotkey)
    except HotkeyError:
        return snap.config.hotkey


def tooltip_note(snap) -> str:
    """``"; hotkey: <problem>"`` for the tooltip when a short problem stops the hotkey, else ""."""
    problem = snap.hotkey_problem
    if not problem:
        return ""
    return f"; hotkey: {problem}" if len(problem) <= _TOOLTIP_PROBLEM else "; hotkey problem (see the menu)"


def status_line(snap) -> str:
    """The running app's answer to ``hotkey`` (for ``trayrip doctor``): ``ok <key>`` or ``problem <key>: <why>``."""
    key = key_label(snap)
    if snap.hotkey_problem:
        return f"problem {key}: {short(snap.hotkey_problem, 300)}"
    bound = " (bound by the desktop)" if getattr(snap, "hotkey_trigger", None) else ""
    return f"ok {key}{bound}"
