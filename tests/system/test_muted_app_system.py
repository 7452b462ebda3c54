"""`trayrip record --app NAME --muted` on both servers: the application is in the file but not on the
speakers (the default sink's monitor, > 40 dB down) while another application stays audible; after a
stop, and after a kill -9 and the next trayrip start, the server is as it was and the application is
heard again.
"""
from __future__ import annotations

import signal

import pytest

import audio_tools as at
from harness import wait_until
from recorder_tools import finish, start_record, wait_for_capture_file
from test_apps_system import play_as, server_state, streams_of, trayrip

pytestmark = pytest.mark.both_servers

ALPHA, BETA = 700, 1900


def _heard(harness, seconds: float = 1.0):
    """What the speakers (the default sink's monitor) carry over ``seconds`` of delivered audio."""
    monitor = harness.record()  # returns once the monitor delivers
    try:
        monitor.wait_frames(monitor.frames_received + round(seconds * 48000), timeout=15)
    finally:
        samples = monitor.stop()
    return samples


def _back_on_the_sink(harness) -> bool:
    sink = next(s["index"] for s in harness.pactl_json("list", "sinks") if s["name"] == harness.sink)
    return all(si["sink"] == sink for si in harness.pactl_json("list", "sink-inputs")
               if si["properties"].get("application.name", "").startswith("Tone"))


def test_muted_app_is_recorded_not_heard_and_everything_comes_back(harness, user_env, tmp_path):
    alpha = at.write_wav(tmp_path / "alpha.wav", at.tone(ALPHA, 60.0))
    beta = at.write_wav(tmp_path / "beta.wav", at.tone(BETA, 60.0))
    before = server_state(harness)
    players = [play_as(harness, "ToneAlpha", alpha), play_as(harness, "ToneBeta", beta)]
    try:
        wait_until(lambda: streams_of(harness, "ToneAlpha") and streams_of(harness, "ToneBeta"), 10, "both players")
        folder = tmp_path / "out"
        proc = start_record(user_env, "--app", "tonealpha", "--muted", "--no-trim", "--folder", str(folder))
        wait_for_capture_file(folder)
        monitor = _heard(harness, 1.5)
        proc.send_signal(signal.SIGINT)
        path = finish(proc)
        data, rate = at.read_audio(path)
        assert at.band_level_db(data, ALPHA, rate) > -20  # recorded
        assert at.band_level_db(data, BETA, rate) < at.band_level_db(data, ALPHA, rate) - 30
        # not heard: > 40 dB under what was recorded, while the other application is heard as before
        assert at.band_level_db(monitor, ALPHA) < at.band_level_db(data, ALPHA, rate) - 40
        assert at.band_level_db(monitor, BETA) > -20
        # stopped: the server as it was, the application back on its sink and heard again
        assert {k: v for k, v in server_state(harness).items() if k != "streams"} == \
            {k: v for k, v in before.items() if k != "streams"}
        assert _back_on_the_sink(harness)
        assert at.band_level_db(_heard(harness), ALPHA) > -20

        # kill -9 while muted: the next trayrip start (here `trayrip recover`) puts everything back
        proc = start_record(user_env, "--app", "tonealpha", "--muted", "--folder", str(tmp_path / "killed"))
        wait_for_capture_file(tmp_path / "killed")
        assert not _back_on_the_sink(harness)
        assert at.band_level_db(_heard(harness), ALPHA) < -50
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        done = trayrip(user_env, "recover", "--folder", str(tmp_path / "killed"))
        assert done.returncode in (0, 1), done.stderr
        after = server_state(harness)
        assert after["modules"] == before["modules"], after["modules"]
        assert after["sinks"] == before["sinks"] and after["sources"] == before["sources"]
        assert _back_on_the_sink(harness)
        assert at.band_level_db(_heard(harness), ALPHA) > -20
    finally:
        for p in players:
            p.terminate()
            p.wait(5)
