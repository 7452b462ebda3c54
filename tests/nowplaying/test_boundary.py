"""The boundary finder on synthetic audio: signals that arrive early or late by up to 0.8 s."""
from __future__ import annotations

import numpy as np
import pytest

from trayrip.nowplaying.boundary import BoundarySettings, find_cut, silent_runs

RATE = 48000
TOLERANCE = 0.15  # seconds: what the issue asks of a gapless boundary


def tone(freqs, seconds, level=0.3, tremolo=0.0, seed=0):
    t = np.arange(round(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * f * t + i) for i, f in enumerate(freqs)) / len(freqs)
    if tremolo:
        x = x * (1 - 0.5 + 0.5 * np.sin(2 * np.pi * tremolo * t))
    rng = np.random.default_rng(seed)
    x = x + 0.01 * rng.standard_normal(t.shape)  # a little noise, as in any real recording
    return np.stack([x, 0.9 * x], axis=1).astype(np.float32) * level


def window_around(audio, signal_s, before=1.5, after=2.5):
    """The audio the filer reads around a signal (as the timeline does); returns (audio, signal index, offset)."""
    lo = max(0, round((signal_s - before) * RATE))
    hi = min(audio.shape[0], round((signal_s + after) * RATE))
    return audio[lo:hi], round(signal_s * RATE) - lo, lo


OFFSETS = [-0.8, -0.5, -0.2, 0.0, 0.2, 0.5, 0.8]


@pytest.mark.parametrize("offset", OFFSETS)
def test_gapless_change_of_tone_found_whatever_the_signal_offset(offset):
    boundary = 6.0
    audio = np.concatenate([tone([220, 330, 440], boundary, tremolo=3), tone([523, 784], 6.0, tremolo=5, seed=1)])
    part, sig, lo = window_around(audio, boundary + offset)
    cut = find_cut(part, RATE, sig)
    assert cut.kind == "change"
    assert cut.start == cut.end
    assert abs((cut.start + lo) / RATE - boundary) <= TOLERANCE, (cut, offset)


@pytest.mark.parametrize("offset", [-0.2, 0.3, 0.8])
def test_gapless_level_change_only(offset):
    boundary = 5.0
    audio = np.concatenate([tone([300], boundary, level=0.4), tone([300], 5.0, level=0.1, seed=2)])
    part, sig, lo = window_around(audio, boundary + offset)
    cut = find_cut(part, RATE, sig)
    assert cut.kind == "change"
    assert abs((cut.start + lo) / RATE - boundary) <= TOLERANCE


@pytest.mark.parametrize("offset", OFFSETS)
def test_silence_near_the_signal_is_where_the_cut_goes(offset):
    end_a, gap = 5.0, 0.7
    audio = np.concatenate([tone([440], end_a), np.zeros((round(gap * RATE), 2), np.float32), tone([660], 5.0)])
    part, sig, lo = window_around(audio, end_a + gap / 2 + offset)
    s = BoundarySettings()
    cut = find_cut(part, RATE, sig, settings=s)
    assert cut.kind == "silence"
    end, start = (cut.end + lo) / RATE, (cut.start + lo) / RATE
    # the previous track keeps its tail pad, the next its lead-in, the silence between is dropped
    assert end == pytest.approx(end_a + s.pad_after, abs=s.window)
    assert start == pytest.approx(end_a + gap - s.pad_before, abs=s.window)


def test_short_silence_keeps_both_tracks_whole():
    """A gap shorter than the two pads is split in its middle: nothing of either track is lost."""
    end_a, gap = 5.0, 0.2
    audio = np.concatenate([tone([440], end_a), np.zeros((round(gap * RATE), 2), np.float32), tone([660], 5.0)])
    part, sig, lo = window_around(audio, end_a + 0.4)
    cut = find_cut(part, RATE, sig)
    assert cut.kind == "silence" and cut.start == cut.end
    assert end_a <= (cut.start + lo) / RATE <= end_a + gap


def test_position_breaks_a_tie_between_two_changes():
    """Two equally strong changes in the window: the one the player's position points at wins."""
    a, b, c = tone([220], 4.0), tone([880], 1.2, seed=3), tone([220], 4.0, seed=4)
    audio = np.concatenate([a, b, c])
    signal = 4.6
    part, sig, lo = window_around(audio, signal)
    for true in (4.0, 5.2):
        cut = find_cut(part, RATE, sig, expected=round(true * RATE) - lo)
        assert abs((cut.start + lo) / RATE - true) <= TOLERANCE


def test_no_change_at_all_cuts_at_the_expected_point():
    audio = tone([440], 8.0)
    part, sig, lo = window_around(audio, 4.0)
    cut = find_cut(part, RATE, sig, expected=sig - RATE // 4)
    assert cut.kind == "signal" and cut.start == sig - RATE // 4


def test_silent_runs():
    audio = np.concatenate([tone([440], 1.0), np.zeros((RATE // 2, 2), np.float32), tone([440], 1.0)])
    runs = silent_runs(audio, RATE, -50.0, 0.01, 0.1)
    assert len(runs) == 1
    assert runs[0][0] / RATE == pytest.approx(1.0, abs=0.01)
    assert runs[0][1] / RATE == pytest.approx(1.5, abs=0.01)


def beat_music(chord, seconds, beat, seed, level=0.2):
    """Sustained chord plus drum-like noise hits every ``beat`` s: changes inside the track too."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in chord) / len(chord) * level
    hits = np.zeros_like(t)
    hit = np.exp(-np.arange(round(0.12 * RATE)) / (0.02 * RATE))
    for start in np.arange(0, seconds, beat):
        i = round(start * RATE)
        hits[i : i + hit.size] += hit[: max(0, min(hit.size, t.size - i))]
    x = x + hits * rng.standard_normal(t.size) * 0.3
    return np.stack([x, 0.8 * x], axis=1).astype(np.float32)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("offset", [-0.2, 0.3, 0.8])
def test_gapless_change_between_tracks_with_drums(seed, offset):
    """Drum hits make level changes inside each track; the boundary is still found within tolerance."""
    boundary = 6.0 + 0.07 * seed
    audio = np.concatenate([beat_music([261.6, 329.6, 392.0], boundary, 0.25, seed),
                            beat_music([293.7, 349.2, 440.0, 587.3], 6.0, 0.5, seed + 100, level=0.18)])
    part, sig, lo = window_around(audio, boundary + offset)
    cut = find_cut(part, RATE, sig)
    assert cut.kind == "change"
    assert abs((cut.start + lo) / RATE - boundary) <= TOLERANCE, (cut, offset)
