"""The D-Bus session bus for trayrip's own code: the only jeepney import.

jeepney is pure Python and its threading API needs no GLib main loop, so a
worker thread (the player watcher, the portal hotkey backend) can own a
connection without the tray's GTK loop. Other modules build messages and
match rules with the names re-exported here and never import jeepney.

Threads: a :class:`SessionBus` belongs to the thread that opened it, except
that :meth:`SessionBus.subscribe` queues are filled by jeepney's receiver
thread (O(1): one ``put``), and read by their owner.
"""
from __future__ import annotations

import logging
import os
import queue
import re
from typing import Any

from jeepney import DBusAddress, HeaderFields, MatchRule, Message, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.threading import open_dbus_router

from .errors import TrayripError

__all__ = [
    "BusError",
    "DBusAddress",
    "HeaderFields",
    "MatchRule",
    "Message",
    "MessageType",
    "SessionBus",
    "new_method_call",
    "unwrap_variants",
]

log = logging.getLogger(__name__)

PROPERTIES = "org.freedesktop.DBus.Properties"
_SIGNATURE = re.compile(r"[ybnqiuxtdsogvha{}()]+")


class BusError(TrayripError):
    """The session bus is unreachable, or a call on it failed (``name``: the D-Bus error name, if any)."""

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message)
        self.name = name


def unwrap_variants(value: Any) -> Any:
    """jeepney gives a variant as a (signature, value) pair; return plain Python values, recursively."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and _SIGNATURE.fullmatch(value[0]):
        return unwrap_variants(value[1])
    if isinstance(value, dict):
        return {k: unwrap_variants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_variants(v) for v in value]
    if isinstance(value, tuple):  # a struct, e.g. the (id, properties) pairs of a(sa{sv})
        return tuple(unwrap_variants(v) for v in value)
    return value


class SessionBus:
    """One connection to the session bus (``DBUS_SESSION_BUS_ADDRESS``).

    ``bus="SYSTEM"`` connects to the system bus instead (logind), and
    ``fds=True`` lets replies carry file descriptors (logind's inhibitors).
    """

    def __init__(self, timeout: float = 5.0, *, bus: str = "SESSION", fds: bool = False):
        if bus == "SESSION" and not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not os.environ.get("XDG_RUNTIME_DIR"):
            raise BusError("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        self.timeout = timeout
        try:
            self._opened = open_dbus_router(bus=bus, enable_fds=fds)
            self._router = self._opened.__enter__()
        except (OSError, KeyError, ValueError) as exc:
            raise BusError(f"cannot reach the D-Bus {bus.lower()} bus: {exc}") from None
        self._closed = False
        self._filters: dict[int, list] = {}  # id(queue) -> [(filter handle, rule), ...]

    @property
    def unique_name(self) -> str:
        return self._router.unique_name or ""

    def call(self, msg: Message, timeout: float | None = None) -> tuple:
        """Send a method call and return its reply body; BusError on an error reply or time-out."""
        try:
            reply = self._router.send_and_get_reply(msg, timeout=self.timeout if timeout is None else timeout)
        except (TimeoutError, OSError) as exc:
            raise BusError(f"D-Bus call {msg.header.fields.get(HeaderFields.member)} failed: {exc}") from None
        if reply.header.message_type == MessageType.error:
            name = reply.header.fields.get(HeaderFields.error_name, "error")
            detail = reply.body[0] if reply.body else ""
            raise BusError(f"{name}: {detail}", name=name)
        return reply.body

    def send(self, msg: Message) -> None:
        """Send without waiting for a reply."""
        self._router.send(msg)

    def get_property(self, address: DBusAddress, interface: str, name: str) -> Any:
        """One property, unwrapped from its variant."""
        props = DBusAddress(address.object_path, bus_name=address.bus_name, interface=PROPERTIES)
        (value,) = self.call(new_method_call(props, "Get", "ss", (interface, name)))
        return unwrap_variants(value)

    def get_all_properties(self, address: DBusAddress, interface: str) -> dict[str, Any]:
        props = DBusAddress(address.object_path, bus_name=address.bus_name, interface=PROPERTIES)
        (values,) = self.call(new_method_call(props, "GetAll", "s", (interface,)))
        return unwrap_variants(values)

    def list_names(self) -> list[str]:
        (names,) = self.call(message_bus.ListNames())
        return list(names)

    def name_owner(self, name: str) -> str | None:
        try:
            (owner,) = self.call(message_bus.GetNameOwner(name))
        except BusError:
            return None
        return owner

    def subscribe(self, rule: MatchRule, maxsize: int = 256, into: queue.Queue | None = None) -> queue.Queue:
        """Messages matching ``rule`` arrive in the returned queue (filled by jeepney's receiver thread).

        ``into`` adds the rule to an existing queue, so one reader sees several kinds of message.
        """
        q: queue.Queue = into if into is not None else queue.Queue(maxsize=maxsize)
        handle = self._router.filter(rule, queue=q)
        try:
            self.call(message_bus.AddMatch(rule))
        except BusError as exc:
            handle.close()
            raise BusError(f"cannot watch the session bus: {exc}") from None
        self._filters.setdefault(id(q), []).append((handle, rule))
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        """Stop filling ``q`` (every rule added to it); the bus forgets the match rules too."""
        for handle, rule in self._filters.pop(id(q), []):
            handle.close()
            try:
                self.call(message_bus.RemoveMatch(rule))
            except BusError as exc:  # the bus went away: nothing left to remove
                log.debug("removing a match rule: %s", exc)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._opened.__exit__(None, None, None)
            except OSError as exc:  # the bus went away first
                log.debug("closing the session bus: %s", exc)

    def __enter__(self) -> SessionBus:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

