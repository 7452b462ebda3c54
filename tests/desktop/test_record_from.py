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


def test_a_change_of_streams_rescans_and_only_a_different_list_is_published(tmp_path):
    playing = [["Firefox"]]
    scans = []

    def apps():
        scans.append(threading.current_thread().name)
        return list(playing[0])

    h = Harnessless(tmp_path, app_lister=apps)
    results = []
    submit = h.c.submit

    def counting_submit(cmd, payload=None):
        submit(cmd, payload)
        if cmd is Cmd.APPS:
            results.append(payload)

    h.c.submit = counting_submit

    def settle(n):
        """Until the n-th scan's result has been handled by the controller."""
        deadline = time.monotonic() + WAIT
        while len(results) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(results) == n
        h.c.run_pending()

    h.send(Cmd.REFRESH_APPS)
    settle(1)
    assert h.c.snapshot.apps == ("Firefox",)
    published = len(h.snaps)
    h.send(Cmd.REFRESH_APPS)  # e.g. Firefox opened a second stream: the same list
    settle(2)
    assert len(h.snaps) == published  # no menu rebuild
    playing[0] = ["Firefox", "mpv"]
    h.send(Cmd.REFRESH_APPS)
    settle(3)
    assert h.c.snapshot.apps == ("Firefox", "mpv") and len(h.snaps) == published + 1
    assert set(scans) == {"trayrip-apps"}


def test_an_older_scan_that_ends_last_does_not_win(tmp_path):
    h = Harnessless(tmp_path)
    h.c._apps_scans = 2
    h.send((Cmd.APPS, (2, ("mpv",))))
    h.send((Cmd.APPS, (1, ("Firefox",))))  # started earlier, pactl answered later
    assert h.c.snapshot.apps == ("mpv",)
