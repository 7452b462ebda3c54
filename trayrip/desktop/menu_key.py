"""When the tray menu must be rebuilt (the tray UI thread).

StatusNotifier hosts (xfce4-panel, KDE, GNOME's AppIndicator extension) show
the menu the application last exported over D-Bus, and pystray's GTK
backends pop up the menu built at the last ``update_menu``: neither asks for
a new one when it opens. So every change of what the menu shows must
rebuild it. The key is therefore every field of the snapshot except those
the menu never shows (a list of what to include missed the "Record from"
applications, so the list went stale: issue 20, defect 2), plus what the tray
itself shows beside the snapshot (the "Start at login" checkbox).
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

__all__ = ["NOT_IN_MENU", "menu_key"]

# Snapshot fields the menu never shows: the tooltip's and the icon's, and the change counter.
NOT_IN_MENU = frozenset({"elapsed", "level_db", "preroll_bytes", "seq", "source"})


def menu_key(snap: Any, *extra: Any) -> tuple:
    """What the menu shows of ``snap`` (a dataclass) and ``extra``: rebuild when this changes."""
    return tuple(getattr(snap, f.name) for f in fields(snap) if f.name not in NOT_IN_MENU) + extra
