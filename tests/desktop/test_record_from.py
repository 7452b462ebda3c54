""""Record from" (config ``app``): the choice reaches the recording, an application that
is not playing falls back to all system audio with a notification, and the list of
playing applications is scanned off the controller thread (fakes, no display)."""
from __future__ import annotations

import threading
import time

from trayrip.capture.routing import NoMatchingApp
from trayrip.config import Config, validate_value
from trayrip.desktop.controller import Cmd
from trayrip.desktop.state import State

from test_controller import WAIT, FakeRecording, Harnessless


class NotPlaying(FakeRecording):
    def start(self):
        if self.options.app:
            raise NoMatchingApp(self.options.app, "playing now: Firefox (firefox-esr, pid 1000)")
        return super().start()


def test_config_app_is_a_string_and_reaches_the_recording_options():
    assert validate_value("app", "  mpv ") == "mpv"
    assert Config(app="mpv").recording_options().app == "mpv"
    assert Config().recording_options().app is None


def test_an_app_that_is_not_playing_falls_back_to_all_audio_with_a_notification(tmp_path):
    h = Harnessless(tmp_path, config=Config(app="mpv"))
    made = []

    def factory(options):
        rec = NotPlaying(options, h.folder)
        made.append(rec)
        return rec

    h.c._factory = factory
    snap = h.send(Cmd.TOGGLE)
    assert snap.state is State.RECORDING
    assert [r.options.app for r in made] == ["mpv", None]
    summary, body, error = h.notes.items[-1]
    assert summary == "Recording all system audio" and "mpv is not playing" in body and "Firefox" in body
    assert not error


def test_a_playing_app_is_recorded_without_fallback(tmp_path):
    h = Harnessless(tmp_path, config=Config(app="mpv"))
    snap = h.send(Cmd.TOGGLE)
    assert snap.state is State.RECORDING
    assert [r.options.app for r in h.factory.made] == ["mpv"]
    assert "Recording all system audio" not in h.notes.summaries()


def test_app_scan_runs_off_the_controller_thread_and_fills_the_snapshot(tmp_path):
    threads = []

    def apps():
        threads.append(threading.current_thread().name)
        return ["Firefox", "mpv"]

    h = Harnessless(tmp_path, app_lister=apps)
    h.send(Cmd.REFRESH_DEVICES)
    deadline = time.monotonic() + WAIT
    while not h.c.snapshot.apps and time.monotonic() < deadline:
        time.sleep(0.01)
        h.c.run_pending()
    assert h.c.snapshot.apps == ("Firefox", "mpv")
    assert threads == ["trayrip-apps"]
