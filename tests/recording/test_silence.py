"""SilenceTracker: first/last sound and regions known while streaming."""
from __future__ import annotations

import numpy as np
import pytest

from trayrip.wav.pcm import from_float, to_float
from trayrip.recording.silence import SilenceSettings, SilenceTracker, db_from_power

RATE = 48000


def signal(parts):
    """parts: list of (seconds, amplitude or 0); a 1 kHz tone where amplitude > 0."""
    chunks = []
    for seconds, amp in parts:
        n = round(seconds * RATE)
        t = np.arange(n) / RATE
        chunks.append(np.repeat((amp * np.sin(2 * np.pi * 1000 * t))[:, None], 2, axis=1))
    return np.concatenate(chunks).astype(np.float32)


def feed_in_blocks(tracker, samples, width=2, blocksize=1000):
    pcm = from_float(samples, width)
    bpf = width * samples.shape[1]
    for i in range(0, samples.shape[0], blocksize):
        tracker.feed(pcm[i * bpf : (i + blocksize) * bpf])


@pytest.mark.parametrize("width,blocksize", [(2, 1000), (3, 777), (2, 48000)])
def test_first_and_last_sound_within_one_window(width, blocksize):
    sig = signal([(1.234, 0), (2.0, 0.3), (0.5, 0), (1.0, 0.3), (3.1, 0)])
    tr = SilenceTracker(RATE, 2, width)
    feed_in_blocks(tr, sig, width, blocksize)
    assert tr.frames == sig.shape[0]
    assert abs(tr.first_sound / RATE - 1.234) <= 0.011
    assert abs(tr.last_sound_end / RATE - 4.734) <= 0.011
    start, end = tr.trim_range()
    assert abs(start / RATE - (1.234 - 0.1)) <= 0.011
    assert abs(end / RATE - (4.734 + 0.3)) <= 0.011
    # a 0.5 s pause is shorter than the 2 s region gap: one region
    assert len(tr.regions) == 1


def test_regions_split_at_long_silences():
    sig = signal([(0.5, 0), (3, 0.2), (2.5, 0), (4, 0.2), (1.0, 0), (2, 0.2), (1, 0)])
    tr = SilenceTracker(RATE, 2, 2, SilenceSettings(region_gap=2.0))
    feed_in_blocks(tr, sig, blocksize=4096)
    got = [(round(s / RATE, 2), round(e / RATE, 2)) for s, e in tr.regions]
    assert len(got) == 2
    assert got[0][0] == pytest.approx(0.5, abs=0.011) and got[0][1] == pytest.approx(3.5, abs=0.011)
    assert got[1][0] == pytest.approx(6.0, abs=0.011) and got[1][1] == pytest.approx(13.0, abs=0.011)


def test_threshold_decides():
    quiet = signal([(1, 0), (1, 10 ** (-55 / 20) * 2**0.5), (1, 0)])  # RMS -55 dBFS
    loud = SilenceTracker(RATE, 2, 2, SilenceSettings(threshold_db=-60))
    feed_in_blocks(loud, quiet)
    strict = SilenceTracker(RATE, 2, 2)
    feed_in_blocks(strict, quiet)
    assert loud.has_sound and not strict.has_sound
    assert strict.trim_range() is None


def test_feed_silence_keeps_positions():
    tr = SilenceTracker(RATE, 2, 2)
    feed_in_blocks(tr, signal([(0.0031, 0.3)]))
    tr.feed_silence(RATE * 3 + 17)
    feed_in_blocks(tr, signal([(1.0, 0.3)]))
    assert tr.frames == round(0.0031 * RATE) + RATE * 3 + 17 + RATE
    assert abs(tr.regions[-1][0] / RATE - (3.0031 + 17 / RATE)) <= 0.011


def test_level_db_of_full_scale_sine_is_minus_3():
    tr = SilenceTracker(RATE, 2, 2)
    feed_in_blocks(tr, signal([(0.1, 1.0)]), blocksize=4800)
    assert tr.level_db == pytest.approx(-3.0, abs=0.1)


@pytest.mark.parametrize("kwargs", [{"threshold_db": 5}, {"pad_before": -1}, {"window": 0}, {"region_gap": 0}])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        SilenceSettings(**kwargs)


@pytest.mark.parametrize("width", [2, 3])
def test_blocks_of_any_size_give_what_one_pass_over_the_whole_gives(width):
    """The carried partial window and the reused 16-bit buffer change nothing, to the last bit.

    Loudness levels sit around the -50 dBFS threshold, so a window's power
    computed any other way would move sound regions; the reference is every
    10 ms window of the whole signal, computed here.
    """
    rng = np.random.default_rng(7)
    near = 10 ** (-50 / 20)  # the threshold's RMS
    pieces = [rng.standard_normal((int(n), 2)) * amp
              for n, amp in zip(rng.integers(1, 9000, 80), rng.choice([0.0, 0.9 * near, 1.1 * near, 0.3], 80))]
    pcm = b"".join(from_float(piece, width) for piece in pieces)
    blocks = SilenceTracker(48000, 2, width, SilenceSettings(region_gap=0.05))
    offset = 0
    for piece in pieces:
        size = len(piece) * 2 * width
        blocks.feed(pcm[offset:offset + size])
        offset += size
    one = SilenceTracker(48000, 2, width, SilenceSettings(region_gap=0.05))
    one.feed(pcm)
    assert blocks.frames == one.frames
    assert blocks.regions == one.regions and len(one.regions) > 3
    assert blocks.peak_db == one.peak_db
    # the reference: every whole 10 ms window of the whole signal
    samples = to_float(pcm, width, 2)
    w = 480
    windows = samples[: len(samples) // w * w].reshape(-1, w * 2)
    powers = np.einsum("ij,ij->i", windows, windows) / np.float32(w * 2)
    loud = np.flatnonzero(powers > np.float32(10 ** (-50 / 10)))
    assert blocks.first_sound == loud[0] * w
    assert blocks.last_sound_end == min((loud[-1] + 1) * w, blocks.frames)
    assert blocks.peak_db == db_from_power(float(powers.max()))
    last = SilenceTracker(48000, 2, width)
    last.feed(from_float(pieces[-1], width))
    assert blocks.level_db == pytest.approx(last.level_db, abs=1e-6)  # the level is the newest block's
