"""The sound server restarting under a recording and under pre-roll (issue 22, item 3).

A restart (an upgrade, a crash that systemd restarts) ends every stream.
The recording stays open, waits for the server (up to 15 s), then records
the default output's monitor again in the same file; the time the server was
away is kept as silence. Pre-roll's stream comes back the same way.
"""
from __future__ import annotations

import signal

import pytest

import audio_tools as at
from recorder_tools import finish, start_record, wait_for_capture_file, wait_for_more_audio
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
        wait_for_more_audio(proc, folder, "the recording to come back after the restart")
        harness.play(b, latency_msec=PLAYER_LATENCY)
    finally:
        proc.send_signal(signal.SIGINT)
    one_file_with_both_tones(folder, finish(proc), "the restart")


def one_file_with_both_tones(folder, path, event: str) -> tuple:
    """``path`` is the one file in ``folder``, and holds tone A (600 Hz) played before ``event`` and tone B
    (1300 Hz) after it, each at least 90 % of ``TONE``; returns its (samples, rate)."""
    assert [p.name for p in folder.iterdir()] == [path.name]  # one file
    data, rate = at.read_audio(path)
    for name, freq in (("before", 600), ("after", 1300)):
        seconds = tone_seconds(data, rate, freq)
        assert seconds >= 0.9 * TONE, f"the tone played {name} {event}: {seconds:.2f} s of {TONE} s"
    return data, rate
