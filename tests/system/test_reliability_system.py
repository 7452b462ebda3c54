"""Reliability against the real sound server: a lost server, loopback silence, load."""
from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

import audio_tools as at
from test_capture_system import wait_for_audio
import trayrip
from trayrip.api import RecordingFailed

pytestmark = pytest.mark.both_servers  # PulseAudio and PipeWire


def test_sound_server_lost_mid_recording_then_back(harness, harness_environ, tmp_path):
    tone = at.write_wav(tmp_path / "tone.wav", at.tone(900, 20.0))
    rec = trayrip.Recording(folder=tmp_path / "out", trim=False)
    rec.start()
    wait_for_audio(rec)
    player = harness.play(tone, wait=False)
    time.sleep(3.0)
    harness.kill_pulse()
    player.wait(10)
    assert rec.wait_done(10), "the recorder did not notice that the sound server died"
    with pytest.raises(RecordingFailed, match="sound server lost") as info:
        rec.stop()
    data, rate = at.read_audio(info.value.filed.path)
    assert len(data) / rate > 2.0
    # the tone that played before the kill is in the file
    assert abs(at.dominant_frequency(data, rate, len(data) / rate - 1.2, len(data) / rate - 0.2) - 900) < 5
    # the server comes back: the next recording works in the same process, without a restart
    harness.start_pulse()
    again = at.write_bursts(tmp_path / "again.wav", [1300], burst=0.5, lead=0.2, tail=0.2)
    rec2 = trayrip.Recording(folder=tmp_path / "out2")
    rec2.start()
    wait_for_audio(rec2)
    harness.play(again.path)
    filed = rec2.stop()
    data2, rate2 = at.read_audio(filed.path)
    assert abs(at.dominant_frequency(data2, rate2, 0.15, 0.55) - 1300) < 5


def test_gap_between_songs_keeps_its_length_on_an_idle_sink(harness, harness_environ, tmp_path):
    """Nothing else plays between the two bursts (no keep-alive stream): the 3 s gap is kept."""
    burst = at.write_wav(tmp_path / "b.wav", at.tone(1000, 0.5))
    rec = trayrip.Recording(folder=tmp_path / "out")
    rec.start()
    wait_for_audio(rec)
    t_first = time.monotonic()
    first = harness.play(burst, wait=False)
    time.sleep(3.0 - (time.monotonic() - t_first))
    second = harness.play(burst, wait=False)
    first.wait(10)
    second.wait(10)
    time.sleep(0.5)
    rec.stop_capture()
    result = rec.result
    filed = rec.finish()
    data, rate = at.read_audio(filed.path)
    starts = at.onsets(data, rate, threshold_db=-30, min_gap=0.5)
    assert len(starts) == 2, starts
    # paplay's own start-up jitter is the tolerance; a lost idle stretch would be ~seconds short
    assert abs((starts[1] - starts[0]) - 3.0) < 0.25, (starts, result.filled_frames / rate)


def test_no_overruns_at_96k_24_bit_with_both_cores_busy(harness, harness_environ, tmp_path):
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        rec = trayrip.Recording(folder=tmp_path / "out", rate=96000, bits=24, trim=False)
        rec.start()
        player = harness.play(at.write_wav(tmp_path / "t.wav", at.tone(5000, 62.0)), wait=False)
        wait_for_audio(rec)
        # Measure the steady state: a recorder child on a pipe (PipeWire) may deliver a start-up
        # backlog in one burst, which would count as audio "gained" against the wall clock.
        time.sleep(2.0)
        t0, audio0 = time.monotonic(), rec.status().elapsed
        time.sleep(60)
        audio1, wall = rec.status().elapsed, time.monotonic() - t0
        result = rec.stop_capture()
        player.terminate()
    finally:
        for h in hogs:
            h.kill()
    filed = rec.finish()
    assert (filed.rate, result.format.bits) == (96000, 24)
    print(f"96k/24 for 60 s under load: {result.overflows} overflows, {result.dropped_frames} dropped frames, "
          f"{result.filled_frames} frames of silence filled")
    assert result.overflows == 0 and result.dropped_frames == 0
    # no frames lost: the audio that arrived matches the wall clock (within two 40 ms blocks)
    assert abs((audio1 - audio0) - wall) < 0.1, (audio1 - audio0, wall)


def test_kill_9_of_trayrip_record_then_recover(harness, user_env, tmp_path):
    """The real CLI, recording the real monitor, killed with SIGKILL: `trayrip recover` files its audio."""
    import signal

    from test_capture_system import start_record, wait_for_capture_file

    folder = tmp_path / "out"
    tone = at.write_wav(tmp_path / "tone.wav", at.tone(650, 10.0))
    proc = start_record(user_env, "--folder", str(folder))
    wait_for_capture_file(folder)
    player = harness.play(tone, wait=False)
    time.sleep(3.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    player.terminate()
    part = next(folder.glob(".trayrip-*.wav.part"))
    on_disk = (part.stat().st_size - 80) / (48000 * 4)
    done = subprocess.run(
        [sys.executable, "-m", "trayrip", "recover", "--no-trim", "--folder", str(folder)],
        env=user_env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0 and "recovered an unfinished recording" in done.stderr, done.stderr
    [filed] = [p for p in folder.iterdir() if p.suffix == ".wav"]
    data, rate = at.read_audio(filed)
    assert abs(len(data) / rate - on_disk) < 0.001  # everything that reached the disk is kept
    assert len(data) / rate > 2.5
    assert abs(at.dominant_frequency(data, rate, len(data) / rate - 1.0, len(data) / rate - 0.1) - 650) < 5
