"""A one-slot mailbox: the controller drops the newest snapshot in, the tray UI thread takes it.

Any thread may put (O(1)); ``get`` blocks the tray UI thread until there is
something, so an idle tray costs nothing.
"""
from __future__ import annotations

import threading
from typing import Any

__all__ = ["Mailbox"]


class Mailbox:
    """One slot holding the newest value; ``get`` blocks until there is one (no polling)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._value: Any = None
        self._has = False
        self._closed = False

    def put(self, value: Any) -> None:
        """Replace the held value (any thread, O(1))."""
        with self._cond:
            self._value, self._has = value, True
            self._cond.notify()

    def put_if_empty(self, value: Any) -> None:
        """Hold ``value`` unless a newer one waits (any thread, O(1))."""
        with self._cond:
            if not self._has:
                self._value, self._has = value, True
                self._cond.notify()

    def get(self) -> Any:
        """The newest value, or None once closed."""
        with self._cond:
            while not self._has and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            value, self._value, self._has = self._value, None, False
            return value

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
