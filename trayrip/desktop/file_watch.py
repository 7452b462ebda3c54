"""Be told when a file appears, changes or goes away (GIO's file monitor: inotify on Linux).

Free while nothing changes: no polling thread. The callback runs on the
GLib main loop of the GTK tray backends (the main thread), so it must do
O(1) work; the monitor is made from a thread with no main context of its
own (pystray's setup thread), which hands its events to that global loop.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

__all__ = ["watch_file", "watch_or_say"]

log = logging.getLogger(__name__)


def watch_file(path: Path, on_change: Callable[[], None]) -> Any:
    """Call ``on_change()`` whenever ``path`` is created, written, replaced or removed.

    Returns the monitor: keep a reference, or the watch ends. Raises when
    GIO is not there (no PyGObject).
    """
    from gi.repository import Gio

    monitor = Gio.File.new_for_path(str(path)).monitor_file(Gio.FileMonitorFlags.WATCH_MOVES, None)
    monitor.connect("changed", lambda *_args: on_change())
    return monitor


def watch_or_say(path: Path, on_change: Callable[[], None], without: str,
                 watcher: Callable[..., Any] | None = None) -> Any:
    """:func:`watch_file` (or ``watcher``, for tests), or None with ``without`` logged (what will not follow
    changes) where it cannot watch: no GIO off the GTK backends."""
    try:
        return (watcher or watch_file)(path, on_change)
    except Exception as exc:
        log.info("%s: %s", without, exc)
        return None
