"""The tray app where a new user found it wanting (issue 13, item 7): the real app in the harness."""
from __future__ import annotations

import pytest

from test_tray_system import App, is_idle


@pytest.mark.parametrize("backend", ["gtk", "appindicator"])
def test_quit_without_a_notification_daemon_exits_cleanly(harness, user_env, tmp_home, tmp_path, backend):
    harness.stop_dunst()  # a bare window-manager desktop: nobody owns org.freedesktop.Notifications
    app = App(harness, dict(user_env, PYSTRAY_BACKEND=backend), tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_icon(is_idle, f"the idle icon ({backend})")
        app.proc.terminate()  # SIGTERM = Quit
        assert app.wait_exit(30) == 0, app.stderr()
        assert "Traceback" not in app.stderr() + app.log(), app.stderr()
    finally:
        app.stop()
        harness.start_dunst()


def _bus_name_of(harness, pid: int) -> str | None:
    """The unique D-Bus name the process ``pid`` holds on the harness's bus."""
    from trayrip.sessionbus import DBusAddress, SessionBus, new_method_call

    dbus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
    with SessionBus() as bus:
        for name in bus.list_names():
            if name.startswith(":"):
                try:
                    reply = bus.call(new_method_call(dbus, "GetConnectionUnixProcessID", "s", (name,)))
                except Exception:
                    continue
                if reply[0] == pid:
                    return name
    return None


def test_left_click_as_activate_on_a_status_notifier_host_starts_and_stops(
    harness, harness_environ, user_env, tmp_home, tmp_path
):
    """gtk-sni-tray sends a left click as org.kde.StatusNotifierItem.Activate(x, y): it must toggle."""
    from harness import wait_until
    from test_tray_system import CAPTURE_RUNNING, is_recording, meter_lit, tone_file

    app = App(harness, dict(user_env, PYSTRAY_BACKEND="appindicator"), tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_icon(is_idle, "the idle icon (appindicator)")
        name = wait_until(lambda: _bus_name_of(harness, app.proc.pid), 10, "the app's name on the bus")

        def activate():  # what the host does on a left click
            harness.run(["dbus-send", "--session", "--print-reply", f"--dest={name}",
                         "/org/ayatana/NotificationItem/trayrip", "org.kde.StatusNotifierItem.Activate",
                         "int32:10", "int32:10"])

        activate()
        app.wait_log(CAPTURE_RUNNING)
        app.wait_icon(is_recording, "recording started by Activate")
        # something to file: a stop before an idle monitor's first block would rightly file nothing
        player = harness.play(tone_file(tmp_path, 880, 1.0), wait=False)
        app.wait_icon(lambda img: is_recording(img) and meter_lit(img) >= 6, "the lit level meter", timeout=10)
        assert player.wait(10) == 0
        activate()
        app.wait_log("filed ")
        app.wait_icon(is_idle, "idle again after the second Activate", timeout=20)
        assert "Traceback" not in app.stderr() + app.log()
    finally:
        app.stop()
