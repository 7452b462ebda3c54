"""The tray menu's status lines, always at the same place (the menu builder, main thread).

Lines that came and went (the pre-roll's "Save last N seconds", "Saving 2
recordings…", the error and its "Clear error", a hotkey or config problem)
moved every item below them: a click aimed at "Open recordings folder" could
land elsewhere (issue 20, defect 11). So the menu always has the same lines;
what is not there is said on a disabled line instead.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .state import State
from .tooltip_text import short

__all__ = ["Line", "save_last_line", "status_line"]

QUIET = "No problems"
LIMIT = 160  # characters of the status line


class Line(NamedTuple):
    """One menu line: its text, and whether clicking it does something."""

    text: str
    enabled: bool


def save_last_line(snap: Any, busy: bool) -> Line:
    """'Save last N seconds' with pre-roll on, else the same line saying why it cannot."""
    if not snap.preroll:
        return Line("Save last seconds (pre-roll is off)", False)
    return Line(f"Save last {snap.preroll:g} seconds", not busy)


def status_line(snap: Any) -> Line:
    """The error, the config and hotkey problems, the recordings being saved -- or that all is well.

    Enabled (a click opens the config file) when the config file has a problem.
    """
    parts = []
    if snap.state is State.ERROR:
        parts.append(f"Error: {snap.error or 'unknown'}")
    if snap.config_problem:
        parts.append(f"Config: {snap.config_problem}")
    if snap.hotkey_problem:
        parts.append(f"Hotkey: {snap.hotkey_problem}")
    if snap.pending:
        parts.append(f"Saving {snap.pending} recording{'s' if snap.pending > 1 else ''}…")
    return Line(short("; ".join(parts), LIMIT), bool(snap.config_problem)) if parts else Line(QUIET, False)
