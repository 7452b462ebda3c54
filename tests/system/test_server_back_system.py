"""The sound server restarting under a recording and under pre-roll (issue 22, item 3).

A restart (an upgrade, a crash that systemd restarts) ends every stream.
The recording stays open, waits for the server (up to 15 s), then records
the default output's monitor again in the same file; the time the server was
away is kept as silence. Pre-roll's stream comes back the same way.
"""
from __future__ import annotations

import signal
import time

import pytest

import audio_tools as at
from recorder_tools import finish, start_record, wait_for_capture_file
from test_follow_output_system import PLAYER_LATENCY, tone_seconds

pytestmark = pytest.mark.both_servers

TONE = 1.5


def test_a_recording_goes_on_across_a_server_restart(harness, user_env, tmp_path):
    a = at.write_wav(tmp_path / "a.wav", at.tone(600, TONE, amplitude=0.4))
    b = at.write_wav(tmp_path / "b.wav", at.tone(1300, TONE, amplitude=0.4))
    folder = tmp_path / "out"
    proc = start_record(user_env, "--folder", str(folder))
    try:
        wait_for_capture_file(folder)
        harness.play(a, latency_msec=PLAYER_LATENCY)
        harness.restart_pulse()
        part = next(folder.glob(".trayrip-*.wav.part"))
        size = part.stat().st_size
        deadline = time.monotonic() + 20
        while part.stat().st_size <= size + 48000:  # written to again: the stream is back
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the recording never came back after the restart"
            time.sleep(0.05)
        harness.play(b, latency_msec=PLAYER_LATENCY)
    finally:
        proc.send_signal(signal.SIGINT)
    path = finish(proc)
    assert [p.name for p in folder.iterdir()] == [path.name]  # one file
    data, rate = at.read_audio(path)
    for name, freq in (("before", 600), ("after", 1300)):
        seconds = tone_seconds(data, rate, freq)
        assert seconds >= 0.9 * TONE, f"the tone played {name} the restart: {seconds:.2f} s of {TONE} s"
