"""A recording started while a tone plays begins with the tone, not with digital silence (issue 20, defect 11).

On PipeWire a new recorder stream's first graph cycle is zero-filled (one
quantum: 256 frames in the harness, 1024 = 21 ms on a desktop), then the
tone: a click at the start of the file. The recording is not trimmed here,
so nothing but the capture stands between the stream and the file.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import audio_tools as at

pytestmark = pytest.mark.both_servers


def leading_zero_frames(path) -> int:
    a, _rate = sf.read(str(path), dtype="int16", always_2d=True)
    sounding = np.flatnonzero(np.any(a != 0, axis=1))
    assert len(sounding), "the recording is silent"
    return int(sounding[0])


def test_a_recording_started_during_a_tone_has_no_zeros_at_its_start(harness, user_env, tmp_path):
    player = harness.play(at.write_wav(tmp_path / "tone.wav", at.tone(1000, 30.0)), wait=False, latency_msec=40)
    try:
        with harness.record() as heard:  # the tone is flowing through the monitor
            heard.wait_frames(4800)
        for i in range(3):  # the zero cycle came 2 times in 3 on PipeWire
            out = tmp_path / f"during-{i}.wav"
            done = subprocess.run([sys.executable, "-m", "trayrip", "record", "-d", "0.5", "--no-trim", "-q",
                                   "-o", str(out)], env=user_env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            # a 1 kHz sine from phase 0 has one exact zero frame at most before it sounds
            assert leading_zero_frames(out) <= 1, f"recording {i}: {leading_zero_frames(out)} frames of zeros first"
            a, rate = sf.read(str(out), always_2d=True)
            assert at.dominant_frequency(a[:, 0], rate) == pytest.approx(1000, abs=20)
    finally:
        player.terminate()
        player.wait(5)
