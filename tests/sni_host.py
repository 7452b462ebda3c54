"""A StatusNotifier host for the tests: the watcher a panel runs, and the menu as the panel reads it.

xfce4-panel, KDE and gnome-shell's AppIndicator extension own
``org.kde.StatusNotifierWatcher`` on the session bus; an application's item
(libayatana-appindicator, pystray's ``appindicator`` backend) registers with
it and exports its menu as ``com.canonical.dbusmenu``; the panel shows what
``GetLayout`` returns. Debian 12 packages no host that runs without a whole
panel, so this is the host's side in a few lines:

* run as a program (``python sni_host.py``) on the harness's private bus, it
  owns the watcher name, says ``READY`` and then ``ITEM <bus name> <path>``
  for every item that registers (one line each on stdout);
* :func:`menu_layout` asks an item's menu for its layout, as the panel does
  when the user opens it, and returns it as nested :class:`MenuEntry`;
  :func:`click` sends a click on one of them.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

WATCHER = "org.kde.StatusNotifierWatcher"
_XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
  </interface>
</node>
"""


def serve() -> None:  # pragma: no cover - runs in its own process
    from gi.repository import Gio, GLib

    items: list[str] = []
    loop = GLib.MainLoop()

    def say(line: str) -> None:
        print(line, flush=True)

    def on_call(conn, sender, path, iface, method, params, invocation):
        if method == "RegisterStatusNotifierItem":
            (service,) = params.unpack()
            name, obj = (sender, service) if service.startswith("/") else (service, "/StatusNotifierItem")
            items.append(f"{name}{obj}")
            invocation.return_value(None)
            conn.emit_signal(None, "/StatusNotifierWatcher", WATCHER, "StatusNotifierItemRegistered",
                             GLib.Variant("(s)", (f"{name}{obj}",)))
            say(f"ITEM {name} {obj}")
        else:
            invocation.return_value(None)

    def on_get(conn, sender, path, iface, prop):
        return {"RegisteredStatusNotifierItems": GLib.Variant("as", items),
                "IsStatusNotifierHostRegistered": GLib.Variant("b", True),
                "ProtocolVersion": GLib.Variant("i", 0)}[prop]

    def on_bus(conn, _name):
        info = Gio.DBusNodeInfo.new_for_xml(_XML).interfaces[0]
        conn.register_object("/StatusNotifierWatcher", info, on_call, on_get, None)

    def on_name(_conn, _name):
        say("READY")

    Gio.bus_own_name(Gio.BusType.SESSION, WATCHER, Gio.BusNameOwnerFlags.NONE, on_bus, on_name,
                     lambda *_: (say("LOST"), loop.quit()))
    loop.run()


class SniHost:
    """The watcher program above, started on the harness's bus; ``items`` are the registered items."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self._err = open(workdir / "sni_host.stderr", "w+")
        self.proc = subprocess.Popen([sys.executable, __file__], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._err, text=True)
        self.items: list[tuple[str, str]] = []
        self._ready = threading.Event()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, name="sni-host-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            word, *rest = line.split()
            with self._cond:
                if word == "READY":
                    self._ready.set()
                elif word == "ITEM":
                    self.items.append((rest[0], rest[1]))
                self._cond.notify_all()

    def wait_ready(self, timeout: float = 10.0) -> None:
        if not self._ready.wait(timeout):
            self._err.flush()
            raise RuntimeError(f"the StatusNotifier watcher did not start:\n{Path(self._err.name).read_text()}")

    def wait_item(self, timeout: float = 20.0) -> tuple[str, str]:
        with self._cond:
            if not self._cond.wait_for(lambda: self.items, timeout):
                raise TimeoutError("no StatusNotifier item registered")
            return self.items[-1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._err.close()


@dataclass
class MenuEntry:
    """One dbusmenu item: its label (mnemonics removed), properties and children."""

    id: int
    label: str
    props: dict
    children: list["MenuEntry"] = field(default_factory=list)

    def find(self, label: str) -> "MenuEntry":
        """The first entry below this one whose label starts with ``label``."""
        for child in self.children:
            if child.label.startswith(label):
                return child
        for child in self.children:
            try:
                return child.find(label)
            except KeyError:
                pass
        raise KeyError(f"no menu entry {label!r} in {self.labels()}")

    def labels(self) -> list[str]:
        return [c.label for c in self.children]

    @property
    def checked(self) -> bool:
        return self.props.get("toggle-state") == 1


def _entry(node) -> MenuEntry:
    id_, props, children = node
    props = {k: v[1] for k, v in props.items()}  # jeepney variants are (signature, value)
    label = str(props.get("label", "")).replace("__", "\0").replace("_", "").replace("\0", "_")
    return MenuEntry(id_, label, props, [_entry(c[1]) for c in children])


class MenuCallError(Exception):
    """The item's dbusmenu answered with an error (e.g. an id from a menu rebuilt since)."""


def _menu_call(bus_name: str, item_path: str, method: str, signature: str, args: tuple):
    from jeepney import DBusAddress, MessageType, Properties, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    with open_dbus_connection(bus="SESSION") as conn:
        item = DBusAddress(item_path, bus_name=bus_name, interface="org.kde.StatusNotifierItem")
        reply = conn.send_and_get_reply(Properties(item).get("Menu"), timeout=5)
        menu_path = reply.body[0][1]
        menu = DBusAddress(menu_path, bus_name=bus_name, interface="com.canonical.dbusmenu")
        reply = conn.send_and_get_reply(new_method_call(menu, method, signature, args), timeout=5)
        if reply.header.message_type is MessageType.error:
            raise MenuCallError(f"{method}: {reply.header.fields.get(4, '')} {reply.body}")
        return reply.body


def menu_layout(bus_name: str, item_path: str) -> MenuEntry:
    """The item's whole menu as its ``com.canonical.dbusmenu`` says (the caller's session bus)."""
    _revision, root = _menu_call(bus_name, item_path, "GetLayout", "iias", (0, -1, []))
    return _entry(root)


def click(bus_name: str, item_path: str, find: Callable[[MenuEntry], MenuEntry], timeout: float = 5.0) -> None:
    """What the panel sends when the user clicks the entry ``find`` picks out of the menu.

    The app rebuilds its menu whenever what it shows changes, and a rebuilt
    menu has new ids: a click on an id read before is refused ("does not refer
    to a menu item"). A panel shows the new menu; this reads it again and
    clicks once more, until the click is taken.
    """
    from harness import wait_until

    def taken() -> bool:
        entry = find(menu_layout(bus_name, item_path))
        stamp = int(time.monotonic() * 1000) & 0xFFFFFFFF
        try:
            _menu_call(bus_name, item_path, "Event", "isvu", (entry.id, "clicked", ("i", 0), stamp))
        except MenuCallError:
            return False
        return True

    wait_until(taken, timeout, "the menu to take the click", 0.02)


if __name__ == "__main__":
    serve()
