"""Tell the controller when the output folder's journal of filed recordings changes.

``trayrip record`` in a terminal, a schedule run by a timer, the Python API:
each adds what it filed to ``<folder>/.recent.trayrip``
(:mod:`trayrip.filing.recent`). The tray UI thread calls :meth:`follow` with
the folder of each snapshot (O(1) when unchanged); GIO's file monitor then
calls ``on_change`` on GLib's loop (main thread), which only submits a
command: the controller reads the journal again.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from ..filing.recent import JOURNAL

__all__ = ["RecentWatch"]

log = logging.getLogger(__name__)


class RecentWatch:
    """Watches ``<folder>/.recent.trayrip`` of the folder last given to :meth:`follow`."""

    def __init__(self, on_change: Callable[[], None], watcher: Callable[..., Any] | None = None):
        self._on_change = on_change
        self._watcher = watcher
        self._folder: Path | None = None
        self._monitor: Any = None

    def follow(self, folder: Path | None) -> None:
        """Watch ``folder``'s journal from now on (tray UI thread)."""
        if folder == self._folder:
            return
        if self._monitor is not None:
            self._monitor.cancel()
            self._monitor = None
        self._folder = folder
        if folder is None:
            return
        try:
            watcher = self._watcher
            if watcher is None:
                from .file_watch import watch_file as watcher
            self._monitor = watcher(Path(folder) / JOURNAL, self._on_change)
        except Exception as exc:  # no GIO: the list follows the tray's own recordings only
            log.info("'Recent recordings' will not follow recordings made elsewhere: %s", exc)
