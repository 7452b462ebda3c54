"""The tray menu on a StatusNotifier host (issue 20, defect 2): what the panel shows follows what trayrip knows.

xfce4-panel, KDE and GNOME's AppIndicator extension show the menu an item
exported over D-Bus (``com.canonical.dbusmenu``); they never ask for a new one
when it opens. ``tests/sni_host.py`` is that host's side: it owns the
StatusNotifierWatcher name (so trayrip picks pystray's ``appindicator``
backend by itself, as on those desktops) and reads the menu with
``GetLayout``, as the panel does when the user opens it.
"""
from __future__ import annotations

import subprocess
import sys

import audio_tools as at
from harness import wait_until
from sni_host import SniHost, menu_layout
from test_apps_system import play_as
from test_tray_system import App


def test_record_from_and_start_at_login_follow_on_a_status_notifier_host(
    harness, harness_environ, user_env, tmp_home, tmp_path
):
    host = SniHost(user_env, tmp_path)
    app = None
    player = None
    try:
        host.wait_ready()
        app = App(harness, user_env, tmp_home, tmp_path)
        name, path = host.wait_item()
        app.wait_log(r"tray backend: appindicator \(a StatusNotifierItem host is running\)")

        def menu():
            return menu_layout(name, path).find("Settings")

        def record_from() -> list[str]:
            return menu().find("Record from").labels()

        assert "ToneGamma" not in record_from()
        player = play_as(harness, "ToneGamma", at.write_wav(tmp_path / "gamma.wav", at.tone(660, 30.0)))
        app.wait_log(r"applications playing: .*ToneGamma")
        wait_until(lambda: "ToneGamma" in record_from(), 5, "the playing application in the host's menu", 0.05)
        player.terminate()
        player.wait(5)
        app.wait_log(r"applications playing: none")
        wait_until(lambda: "ToneGamma" not in record_from(), 5, "the stopped application gone from the menu", 0.05)

        def autostart(word: str) -> None:
            done = subprocess.run([sys.executable, "-m", "trayrip", "autostart", word], env=user_env,
                                  capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, done.stderr

        assert not menu().find("Start at login").checked
        autostart("on")  # from a terminal, not the menu
        wait_until(lambda: menu().find("Start at login").checked, 5, "'Start at login' checked", 0.05)
        autostart("off")
        wait_until(lambda: not menu().find("Start at login").checked, 5, "'Start at login' unchecked", 0.05)
        assert "Traceback" not in app.stderr() + app.log()
    finally:
        if player is not None and player.poll() is None:
            player.kill()
        if app is not None:
            app.stop()
        host.stop()
