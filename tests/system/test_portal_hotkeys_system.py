"""Wayland hotkeys through the real xdg-desktop-portal frontend (Debian 12: 1.16) on the harness bus.

The desktop's side is ``tests/portal_backend.py``: a GlobalShortcuts backend
that binds without a dialog and emits ``Activated`` when the test says so
(what a compositor does on a key press). Everything between -- the portal
frontend choosing that backend by ``UseIn``, sessions, requests, the
forwarded signals -- is the real program.
"""
from __future__ import annotations

import queue
import subprocess
import sys
import threading

import pytest

from harness import write_user_config
from portal_backend import PortalStack
from test_tray_system import App, assert_recording_of, is_idle, is_recording, tone_file, wait_recordings
from trayrip.desktop.hotkeys import HotkeyManager
from trayrip.desktop.portal_hotkeys import GONE_MESSAGE, SHORTCUT_ID, PortalBackend
from trayrip.hotkey_syntax import DEFAULT_HOTKEY, parse_hotkey


@pytest.fixture
def portal(user_env, tmp_path):
    stack = PortalStack(user_env, tmp_path / "portal")
    try:
        stack.start()
    except (RuntimeError, TimeoutError) as exc:
        stack.stop()
        pytest.fail(f"the portal stack did not start: {exc}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()


def test_portal_backend_binds_fires_and_rebinds(portal, harness_environ, monkeypatch):
    for key, value in portal.env.items():
        monkeypatch.setenv(key, value)
    fired = threading.Semaphore(0)
    backend = PortalBackend(timeout=10, confirm_timeout=10)
    try:
        backend.bind(parse_hotkey(DEFAULT_HOTKEY), fired.release)
        assert backend.problem() is None
        session = portal.wait_line("SESSION").split()[1]
        bound = portal.wait_line("BOUND").split()
        assert bound[1:] == [session, SHORTCUT_ID, "CTRL+ALT+SHIFT+r"]
        assert backend.trigger == "CTRL+ALT+SHIFT+r"  # what the desktop said it bound

        portal.activate("some-other-app-shortcut")
        portal.activate(SHORTCUT_ID)
        portal.wait_line("ACTIVATED", count=2)
        assert fired.acquire(timeout=10)
        assert not fired.acquire(timeout=0)  # the other shortcut id did not fire, nor did Deactivated

        # a new hotkey: the old session is closed, a new one binds the new trigger and fires
        backend.bind(parse_hotkey("<ctrl>+<shift>+<f12>"), fired.release)
        assert portal.wait_line("CLOSED").split()[1] == session
        assert portal.wait_line("BOUND", count=2).split()[3] == "CTRL+SHIFT+F12"
        portal.activate(SHORTCUT_ID)
        assert fired.acquire(timeout=10)
    finally:
        backend.unbind()
    assert not [t for t in threading.enumerate() if t.name == "trayrip-portal"]


def test_tray_app_on_wayland_records_with_the_portal_shortcut(portal, harness, user_env, tmp_home, tmp_path):
    env = dict(portal.env, XDG_SESSION_TYPE="wayland")
    app = App(harness, env, tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_icon(is_idle, "the idle icon")
        assert portal.wait_line("BOUND").split()[2:] == [SHORTCUT_ID, "CTRL+ALT+SHIFT+r"]
        app.wait_log(r"global hotkey .* bound \(portal\)")

        portal.activate(SHORTCUT_ID)  # the desktop saw the key: recording starts
        app.wait_icon(is_recording, "recording started by the portal shortcut")
        harness.play(tone_file(tmp_path, 880, 1.0))
        portal.activate(SHORTCUT_ID)
        recording = wait_recordings(app, 1)[0]
        assert_recording_of(recording, 880, 1.0)
        app.wait_icon(is_idle, "the idle icon after the portal shortcut stopped it")
        assert "Wayland session and no desktop portal" not in app.log()
        app.proc.terminate()
        assert app.wait_exit(30) == 0, app.stderr()
        assert "Traceback" not in app.stderr() + app.log()
    finally:
        app.stop()


def test_wayland_without_a_portal_says_to_bind_trayrip_toggle(harness_environ, monkeypatch):
    from trayrip.desktop import hotkeys

    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")  # the harness bus has no portal at all
    # pynput itself is not started (its X11 thread would outlive the test): only the choice and the message
    monkeypatch.setattr(hotkeys.PynputBackend, "bind", lambda self, hotkey, callback: None)
    manager = HotkeyManager(lambda: None)
    problem = manager.bind(DEFAULT_HOTKEY)
    assert manager._backend.name == "pynput"
    assert problem and "no desktop portal offers global shortcuts" in problem
    assert "org.freedesktop.portal.Desktop" in problem and "'trayrip toggle'" in problem


def test_the_binding_follows_the_portal_leaving_and_the_desktop_changing_the_key(portal, harness_environ,
                                                                                   monkeypatch):
    """A late BindShortcuts answer and ShortcutsChanged set the key shown; a killed portal is waited for."""
    for key, value in portal.env.items():
        monkeypatch.setenv(key, value)
    fired = threading.Semaphore(0)
    changes: queue.SimpleQueue = queue.SimpleQueue()
    manager = HotkeyManager(fired.release, PortalBackend(timeout=10, confirm_timeout=0.3),
                            on_change=lambda: changes.put(1))

    def follow() -> tuple:
        assert changes.get(timeout=10)  # the portal thread asked the owner to follow (here: this thread)
        return manager.follow()

    try:
        # the user takes a while to confirm, and picks another key
        portal.next_bind(0, hold=True, trigger="CTRL+ALT+F9")
        assert manager.bind(DEFAULT_HOTKEY) is None
        assert follow() == (None, None)  # bind() itself: the desktop has not said which key yet
        portal.release()
        assert follow() == (None, "Ctrl+Alt+F9")
        # later the user changes it in the desktop's settings
        portal.change(SHORTCUT_ID, "CTRL+SHIFT+F12")
        assert follow() == (None, "Ctrl+Shift+F12")
        portal.change("some-other-shortcut", "CTRL+F1")  # not ours: nothing changes, no wake-up

        portal.kill_frontend()
        assert follow() == (GONE_MESSAGE, "Ctrl+Shift+F12")
        portal.start_frontend()
        assert follow() == (None, "Ctrl+Alt+Shift+R")  # bound again by itself, in a new session
        assert portal.wait_line("SESSION", count=2) != portal.wait_line("SESSION")
        assert changes.empty()
        portal.activate(SHORTCUT_ID)
        assert fired.acquire(timeout=10)
    finally:
        manager.stop()


def _trayrip(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trayrip", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def _doctor_hotkey(env: dict) -> str:
    """The hotkey line of ``trayrip doctor`` (which asks the running tray app)."""
    out = _trayrip(env, "doctor").stdout
    return next((line for line in out.splitlines() if " hotkey: " in line), out)


def test_tray_app_binds_again_after_a_portal_restart_and_keeps_its_session_on_reload(portal, harness, tmp_home,
                                                                                      tmp_path):
    env = dict(portal.env, XDG_SESSION_TYPE="wayland")
    config = write_user_config(tmp_home, 'hotkey = "<ctrl>+<alt>+<shift>+r"\n')
    app = App(harness, env, tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_log(r"global hotkey .* bound \(portal\)")

        portal.kill_frontend()  # the portal crashed (or an upgrade restarts it): the hotkey cannot fire now
        app.wait_log(r"WARNING.*the desktop portal left the session bus")
        line = _doctor_hotkey(env)
        assert line.startswith("warn") and GONE_MESSAGE in line, line
        portal.start_frontend()
        second = portal.wait_line("SESSION", count=2).split()[1]  # re-created by itself
        assert portal.wait_line("BOUND", count=2).split()[2:] == [SHORTCUT_ID, "CTRL+ALT+SHIFT+r"]
        app.wait_log(r"the shortcut is bound again")
        line = _doctor_hotkey(env)
        assert line.startswith("ok") and "Ctrl+Alt+Shift+R" in line, line

        portal.activate(SHORTCUT_ID)  # the next press records
        app.wait_icon(is_recording, "recording started by the portal shortcut after the restart")
        harness.play(tone_file(tmp_path, 660, 1.0))
        portal.activate(SHORTCUT_ID)
        assert_recording_of(wait_recordings(app, 1)[0], 660, 1.0)
        app.wait_icon(is_idle, "the idle icon after the recording")

        portal.change(SHORTCUT_ID, "CTRL+ALT+F9")  # the user picked another key in the desktop's settings
        app.wait_log(r"the desktop bound the shortcut to Ctrl\+Alt\+F9")
        line = _doctor_hotkey(env)
        assert line.startswith("ok") and "Ctrl+Alt+F9 (bound by the desktop)" in line, line

        config.write_text('hotkey = "<ctrl>+<alt>+<shift>+r"\nthreshold_db = -45\n')  # the hotkey did not change
        assert _trayrip(env, "reload").returncode == 0
        app.wait_log(r"notification: trayrip: settings reloaded")
        config.write_text('hotkey = "<ctrl>+<shift>+<f12>"\n')  # it did
        assert _trayrip(env, "reload").returncode == 0
        app.wait_log(r"notification: trayrip: settings reloaded", count=2)
        assert portal.wait_line("BOUND", count=3).split()[2:] == [SHORTCUT_ID, "CTRL+SHIFT+F12"]
        # only the changed hotkey closed the session: the unchanged reload kept it (no new confirmation asked)
        assert [line.split()[1] for line in portal.lines if line.startswith("CLOSED")] == [second]
        assert len([line for line in portal.lines if line.startswith("SESSION")]) == 3
        app.wait_log(r"the portal bound the shortcut .*CTRL\+SHIFT\+F12")
        app.proc.terminate()
        assert app.wait_exit(30) == 0, app.stderr()
        assert "Traceback" not in app.stderr() + app.log()
    finally:
        app.stop()
