"""Tell the controller when the journal of filed recordings changes (set up once; GLib's loop calls back).

``trayrip record`` in a terminal, a schedule run by a timer, the Python API:
each adds what it filed to the journal of :mod:`trayrip.filing.recent`.
:func:`watch_recent` puts GIO's file monitor on it; ``on_change`` then runs
on GLib's loop (the main thread) and only submits a command: the controller
reads the journal again.
"""
from __future__ import annotations

from typing import Any, Callable

from ..filing.recent import journal_path
from .file_watch import watch_or_say

__all__ = ["watch_recent"]


def watch_recent(on_change: Callable[[], None], watcher: Callable[..., Any] | None = None) -> Any:
    """The monitor (keep it), or None when GIO is not there (the list then follows the tray's own recordings)."""
    return watch_or_say(journal_path(), on_change, "'Recent recordings' will not follow recordings made elsewhere",
                        watcher)
