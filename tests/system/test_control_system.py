"""``trayrip toggle | start | stop`` against the real tray app in the harness desktop.

The commands reach the running app over its instance socket; assertions are on
the icon, the exit statuses and messages, and the filed recordings (their
frequency and length).
"""
from __future__ import annotations

import subprocess
import sys

from test_tray_system import App, assert_recording_of, is_idle, is_recording, recordings, tone_file, wait_recordings


def trayrip(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trayrip", *args], env=env, capture_output=True, text=True,
                          timeout=30)


def test_toggle_start_stop_commands(harness, user_env, tmp_home, tmp_path):
    none = trayrip(user_env, "toggle")
    assert none.returncode == 1 and "trayrip is not running" in none.stderr, none.stderr
    app = App(harness, user_env, tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_icon(is_idle, "the idle icon")

        stop = trayrip(user_env, "stop")
        assert stop.returncode == 0 and "not recording" in stop.stderr, stop.stderr
        start = trayrip(user_env, "start")
        assert start.returncode == 0 and "start recording" in start.stderr, start.stderr
        app.wait_icon(is_recording, "recording started by 'trayrip start'")
        again = trayrip(user_env, "start")
        assert again.returncode == 0 and "already recording" in again.stderr, again.stderr
        harness.play(tone_file(tmp_path, 880, 1.0))
        stop = trayrip(user_env, "stop")
        assert stop.returncode == 0 and "stop recording" in stop.stderr, stop.stderr
        first = wait_recordings(app, 1)[0]
        assert_recording_of(first, 880, 1.0)
        app.wait_icon(is_idle, "the idle icon after 'trayrip stop'")

        toggle = trayrip(user_env, "toggle")
        assert toggle.returncode == 0 and "start recording" in toggle.stderr, toggle.stderr
        app.wait_icon(is_recording, "recording started by 'trayrip toggle'")
        harness.play(tone_file(tmp_path, 1320, 1.0))
        toggle = trayrip(user_env, "toggle")
        assert toggle.returncode == 0 and "stop recording" in toggle.stderr, toggle.stderr
        second = [p for p in wait_recordings(app, 2) if p != first][0]
        assert_recording_of(second, 1320, 1.0)
        app.wait_icon(is_idle, "the idle icon after 'trayrip toggle'")
        assert len(recordings(tmp_home)) == 2
    finally:
        app.stop()
    assert app.proc.returncode == 0
    gone = trayrip(user_env, "start")
    assert gone.returncode == 1 and "trayrip is not running" in gone.stderr, gone.stderr
