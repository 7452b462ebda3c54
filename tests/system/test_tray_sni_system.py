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

import pytest

import audio_tools as at
from harness import wait_until
from sni_host import SniHost, menu_layout
from test_apps_system import play_as
from test_tray_system import App


@pytest.fixture
def tray_on_host(harness, harness_environ, user_env, tmp_home, tmp_path):
    """The tray app on a StatusNotifier host: (app, its item's bus name, its object path); both stopped after."""
    host = SniHost(user_env, tmp_path)
    app = None
    try:
        host.wait_ready()
        app = App(harness, user_env, tmp_home, tmp_path)
        name, path = host.wait_item()
        yield app, name, path
    finally:
        if app is not None:
            app.stop()
        host.stop()


def test_record_from_and_start_at_login_follow_on_a_status_notifier_host(
    tray_on_host, harness, user_env, tmp_home, tmp_path
):
    app, name, path = tray_on_host
    player = None
    try:
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


def test_choose_folder_shows_the_dialog_built_ahead_once_and_sized_to_the_screen(
    tray_on_host, harness, user_env, tmp_home, tmp_path
):
    """Issue 20, defect 3: the first "Choose folder…" took 25.1 s; it must only show a dialog made ahead."""
    from sni_host import click

    app, name, path = tray_on_host
    app.wait_log(r"folder chooser ready: [\d.]+ s in the background, [\d.]+ s to build it")

    def dialogs() -> list[int]:
        found = harness.run(["xdotool", "search", "--onlyvisible", "--name", "^trayrip: folder for recordings$"],
                            check=False, timeout=5)
        return [int(w) for w in found.stdout.split()]

    assert not dialogs()  # built, not shown

    def choose(menu):
        return menu.find("Settings").find("Output folder").find("Choose folder")

    click(name, path, choose)
    [wid] = wait_until(dialogs, 10, "the folder chooser on the screen", 0.05)
    app.wait_log(r"folder chooser shown in [\d.]+ s \(built ahead\)")
    screen_w, screen_h = (int(v) for v in harness.xdotool("getdisplaygeometry").split())
    wait_until(lambda: app.geometry(wid)[3] <= screen_h * 0.85, 5, "the dialog sized to the screen", 0.05)
    x, y, w, h = app.geometry(wid)
    assert w <= screen_w * 0.85 and h <= screen_h * 0.85
    click(name, path, choose)  # a second click raises it: still one dialog
    app.wait_log(r"folder chooser raised \(it is open\)")
    assert dialogs() == [wid]
    harness.xdotool("key", "--window", str(wid), "Escape")  # Cancel
    app.wait_log(r"folder chooser closed")
    wait_until(lambda: not dialogs(), 10, "the dialog gone after Cancel", 0.05)
    assert "built now" not in app.log() and "Traceback" not in app.stderr() + app.log()


def test_recent_recordings_lists_a_terminal_recording_with_its_album_folder(
    tray_on_host, harness, user_env, tmp_home, tmp_path
):
    """Issue 20, defect 11: "Recent recordings" listed the tray's own recordings only, album tracks without
    their folder; and the menu's lines stay where they are."""
    import signal

    from recorder_tools import wait_for_capture_file

    app, name, path = tray_on_host
    app.wait_log(r"trayrip is running")
    top = menu_layout(name, path)
    assert top.find("Recent recordings").labels() == ["(none yet)"]
    assert top.labels()[2:5] == ["Save last seconds (pre-roll is off)", "No problems", "Clear error"]

    folder = tmp_home / "Music" / "playlists"
    bursts = at.write_bursts(tmp_path / "album.wav", [700, 1300], burst=0.8, gap=1.0, tail=0.3)
    rec = subprocess.Popen([sys.executable, "-m", "trayrip", "record", "--split", "0.5", "--min-track", "0.2",
                            "-q"], env=user_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_capture_file(folder)
    harness.play(bursts.path, latency_msec=50)
    rec.send_signal(signal.SIGINT)
    out, err = rec.communicate(timeout=60)
    assert rec.returncode == 0, err
    tracks = sorted(p for p in folder.rglob("*.wav") if p.parent != folder)
    assert len(tracks) == 2, (out, err)
    album = tracks[0].parent.name
    wanted = [f"{album}/{tracks[1].name}", f"{album}/{tracks[0].name}"]  # newest first

    def recent() -> list[str]:
        return menu_layout(name, path).find("Recent recordings").labels()

    wait_until(lambda: recent() == wanted, 10, f"the terminal's album in the tray's menu: {wanted}", 0.05)
    assert menu_layout(name, path).labels() == top.labels()  # nothing moved
