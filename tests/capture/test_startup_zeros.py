"""The zero-filled first cycle of a new PipeWire stream is dropped; real silence is kept (issue 20, defect 11)."""
from __future__ import annotations

import numpy as np

from trayrip.capture.startup_zeros import StartupZeros

BPF = 4  # 16-bit stereo
RATE = 48000


def tone(frames: int) -> bytes:
    t = np.arange(1, frames + 1) / RATE
    x = (0.5 * 32767 * np.sin(2 * np.pi * 1000 * t)).astype("<i2")
    return np.repeat(x, 2).tobytes()


def run(chunks) -> bytes:
    z = StartupZeros(BPF, RATE)
    return b"".join(z.feed(c) for c in chunks) + z.flush()


def test_a_quantum_of_zeros_then_the_tone_starts_with_the_tone():
    sound = tone(2048)
    assert run([bytes(1024 * BPF), sound]) == sound  # 21 ms of zeros in a read of their own
    assert run([bytes(256 * BPF) + sound]) == sound  # or in the same read as the tone
    assert run([bytes(512 * BPF), bytes(512 * BPF), sound]) == sound


def test_silence_longer_than_the_limit_is_real_and_kept_whole():
    sound = tone(480)
    silence = bytes(6000 * BPF)  # 125 ms: nothing was playing
    out = run([silence[:4000 * BPF], silence[4000 * BPF:], sound])
    assert out == silence + sound
    assert run([bytes(2000 * BPF)]) == bytes(2000 * BPF)  # a stream that ends during the wait keeps its zeros


def test_zeros_after_the_first_sound_are_never_touched():
    sound = tone(100)
    gap = bytes(300 * BPF)
    assert run([sound, gap, sound]) == sound + gap + sound
