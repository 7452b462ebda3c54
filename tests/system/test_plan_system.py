"""One capture plan per start, in the real tray app on both servers (issue 20, defect 1).

Pre-roll on; two players (an application and a decoy) play different tones.
"Record from" is switched to the application while the tray runs (the config
file edited, then `trayrip toggle`: the tray reloads an edited file before a
start): the filed recording holds the application's tone and not the decoy's.
Then back to all system audio: both tones are in the next file.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

import audio_tools as at
from harness import wait_until, write_user_config
from test_apps_system import play_as, streams_of
from test_tray_system import App, wait_recordings

pytestmark = pytest.mark.both_servers

ALPHA, DECOY = 700, 1900


def toggle(env: dict) -> None:
    done = subprocess.run([sys.executable, "-m", "trayrip", "toggle"], env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr


def record_a_second(app: App, harness, env: dict, started: int) -> None:
    toggle(env)
    app.wait_log(r"capture running at", count=started)
    with harness.record() as clock:  # 1.5 s of the sink's clock
        clock.wait_frames(1)
        clock.wait_frames(clock.frames_received + int(1.5 * clock.rate), timeout=15)
    toggle(env)


def test_preroll_follows_record_from_switched_while_the_tray_runs(harness, user_env, tmp_home, tmp_path):
    config = write_user_config(tmp_home, "preroll_seconds = 10\ntrim = false\n")
    players = [play_as(harness, "ToneAlpha", at.write_wav(tmp_path / "a.wav", at.tone(ALPHA, 60.0))),
               play_as(harness, "ToneDecoy", at.write_wav(tmp_path / "d.wav", at.tone(DECOY, 60.0)))]
    app = None
    try:
        wait_until(lambda: streams_of(harness, "ToneAlpha") and streams_of(harness, "ToneDecoy"), 20, "the players")
        app = App(harness, user_env, tmp_home, tmp_path)
        app.wait_docked()
        app.wait_log(r"pre-roll: audio flowing")
        config.write_text("preroll_seconds = 10\ntrim = false\napp = 'ToneAlpha'\n")
        record_a_second(app, harness, user_env, 1)
        [first] = wait_recordings(app, 1)
        config.write_text("preroll_seconds = 10\ntrim = false\napp = ''\n")
        record_a_second(app, harness, user_env, 2)
        second = [p for p in wait_recordings(app, 2) if p != first][0]
        log = app.log()
        assert "Traceback" not in log
    finally:
        for p in players:
            p.terminate()
        if app is not None:
            app.stop()
    data, rate = at.read_audio(first)
    assert len(data) / rate >= 1.0
    assert at.band_level_db(data, ALPHA, rate) > -20
    assert at.band_level_db(data, DECOY, rate) < at.band_level_db(data, ALPHA, rate) - 30, "the decoy is in the file"
    data, rate = at.read_audio(second)
    assert at.band_level_db(data, ALPHA, rate) > -20 and at.band_level_db(data, DECOY, rate) > -20, \
        "all system audio was chosen again, but the file holds one application"
    assert "pre-roll re-opened on application 'ToneAlpha' (the settings changed)" in log


def test_after_the_sound_server_comes_back_preroll_resumes_and_the_icon_is_idle(harness, user_env, tmp_home,
                                                                                tmp_path):
    """Issue 20, defect 5: the server dies mid-recording with pre-roll on, then returns by itself."""
    from test_tray_system import is_idle, is_recording

    write_user_config(tmp_home, "preroll_seconds = 10\n")
    app = App(harness, user_env, tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_log(r"pre-roll: audio flowing")
        toggle(user_env)
        app.wait_icon(is_recording, "recording")
        mark = len(harness.notifications())
        harness.kill_pulse()
        app.wait_icon(lambda img: not is_idle(img) and not is_recording(img), "the error icon", timeout=20)
        harness.start_pulse()
        back = harness.wait_notification(summary="the sound server is back", since=mark, timeout=30)
        assert "pre-roll is listening again" in back["body"]
        app.wait_icon(is_idle, "the idle icon once the server is back", timeout=10)
        app.wait_log(r"pre-roll: keeping the last 10 s", count=2)
        notes = harness.notifications(since=mark)
        told = [n for n in notes if "problem" in n["summary"] or "pre-roll" in n["summary"]]
        assert len(told) <= 1, [n["summary"] for n in notes]  # the loss is told once...
        assert all("seq:" not in n["body"] and "remote error" not in n["body"] for n in notes), notes  # plainly
        assert sum("sound server is back" in n["summary"] for n in notes) == 1  # ... and the return once
        assert "Traceback" not in app.log()
    finally:
        app.stop()
