"""Notification bodies reach the server as text: escaped where it parses markup (issue 13).

A fake org.freedesktop.Notifications server (Gio, in its own process) on a
private dbus-daemon records the raw body it was sent.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SERVER = textwrap.dedent('''
    import sys
    from gi.repository import Gio, GLib
    caps, out = sys.argv[1].split(",") if sys.argv[1] else [], sys.argv[2]
    XML = """<node><interface name="org.freedesktop.Notifications">
      <method name="GetCapabilities"><arg type="as" direction="out"/></method>
      <method name="Notify"><arg type="s"/><arg type="u"/><arg type="s"/><arg type="s"/><arg type="s"/>
        <arg type="as"/><arg type="a{sv}"/><arg type="i"/><arg type="u" direction="out"/></method>
      <method name="GetServerInformation"><arg type="s" direction="out"/><arg type="s" direction="out"/>
        <arg type="s" direction="out"/><arg type="s" direction="out"/></method>
    </interface></node>"""
    def call(conn, sender, path, iface, method, params, inv):
        if method == "GetCapabilities":
            inv.return_value(GLib.Variant("(as)", (caps,)))
        elif method == "Notify":
            with open(out, "a") as f:
                f.write(params.unpack()[4] + "\\n")
            inv.return_value(GLib.Variant("(u)", (1,)))
        else:
            inv.return_value(GLib.Variant("(ssss)", ("fake", "test", "1", "1.2")))
    def acquired(conn, name):
        conn.register_object("/org/freedesktop/Notifications", Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0],
                             call, None, None)
    Gio.bus_own_name(Gio.BusType.SESSION, "org.freedesktop.Notifications", 0, acquired,
                     lambda *a: print("ready", flush=True), lambda *a: sys.exit(1))
    GLib.MainLoop().run()
''')

SEND = textwrap.dedent('''
    import sys
    from trayrip.desktop import notify
    from trayrip.desktop.notify import Note
    b = getattr(notify, sys.argv[1])()
    for body in ("write it like <ctrl>+<alt>+r", "a & b"):
        b.send(Note("trayrip: hotkey problem", body, error=True))
''')


@pytest.fixture
def bus(private_bus_address):
    return dict(os.environ, DBUS_SESSION_BUS_ADDRESS=private_bus_address)


def bodies_seen(env, tmp_path, caps, backend="DBusBackend"):
    out = tmp_path / f"bodies-{caps or 'none'}.txt"
    server = subprocess.Popen([sys.executable, "-c", SERVER, caps, str(out)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready", "fake notification server did not start"
        subprocess.run([sys.executable, "-c", SEND, backend], env=env, check=True, timeout=60)
    finally:
        server.terminate()
        server.wait(10)
    return out.read_text().splitlines()


def test_body_is_escaped_for_a_server_that_parses_markup(bus, tmp_path):
    assert bodies_seen(bus, tmp_path, "body,body-markup,actions") == [
        "write it like &lt;ctrl&gt;+&lt;alt&gt;+r",
        "a &amp; b",
    ]


def test_body_is_plain_text_for_a_server_without_markup(bus, tmp_path):
    assert bodies_seen(bus, tmp_path, "body") == ["write it like <ctrl>+<alt>+r", "a & b"]


def test_notify_send_escapes_too(bus, tmp_path):
    # notify-send cannot ask the server; the common servers (dunst, GNOME, xfce4-notifyd) parse markup.
    assert bodies_seen(bus, tmp_path, "body,body-markup", "NotifySendBackend") == [
        "write it like &lt;ctrl&gt;+&lt;alt&gt;+r",
        "a &amp; b",
    ]
