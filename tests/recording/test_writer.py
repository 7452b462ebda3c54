"""WavWriter: valid while growing, RF64 past the limit, never overwriting."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from trayrip.capture.base import AudioFormat
from trayrip.errors import FilingError
from trayrip.wav.pcm import from_float, to_float
from trayrip.wav.layout import read_layout
from trayrip.recording.writer import WavWriter


class StepClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def ramp(frames, channels=2):
    t = np.arange(frames * channels, dtype=np.float64).reshape(frames, channels)
    return (np.sin(t / 37.0) * 0.5).astype(np.float32)


@pytest.mark.parametrize("width", [2, 3])
def test_copy_taken_mid_write_plays_up_to_last_sync(tmp_path, width):
    fmt = AudioFormat(48000, 2, width)
    clock = StepClock()
    w = WavWriter(tmp_path / "a.wav", fmt, sync_interval=1.0, clock=clock)
    second = ramp(48000)
    for i in range(3):
        w.write(from_float(second, width))
        clock.now += 1.0
    # the third second was written but no sync has happened since (sync happens on the write after 1 s)
    w.write(from_float(second[:100], width))
    copy = tmp_path / "copy.wav"
    shutil.copyfile(w.path, copy)
    data, rate = sf.read(copy, dtype="float32")
    assert rate == 48000
    assert data.shape[0] >= 2 * 48000  # at most about a second behind
    assert data.shape[0] <= 3 * 48000 + 100
    w.close()
    full, _ = sf.read(w.path, dtype="float32")
    assert full.shape == (3 * 48000 + 100, 2)
    np.testing.assert_allclose(full[:48000], second, atol=2.0 ** -(8 * width - 2))


def test_exact_samples_round_trip_24_bit(tmp_path):
    fmt = AudioFormat(96000, 2, 3)
    pcm = from_float(ramp(5000), 3)
    w = WavWriter(tmp_path / "b.wav", fmt)
    w.write(pcm)
    w.close()
    info = sf.info(tmp_path / "b.wav")
    assert (info.samplerate, info.channels, info.subtype) == (96000, 2, "PCM_24")
    raw, _ = sf.read(tmp_path / "b.wav", dtype="int32")
    expected = (to_float(pcm, 3, 2) * (1 << 23)).astype(np.int64) << 8
    np.testing.assert_array_equal(raw.astype(np.int64), expected)


def test_switches_to_rf64_past_the_limit_and_stays_readable(tmp_path):
    fmt = AudioFormat(8000, 1, 3)  # odd frame size: exercises the pad byte
    w = WavWriter(tmp_path / "big.wav", fmt, rf64_limit=10_000)
    pcm = from_float(ramp(7001, 1), 3)
    w.write(pcm)
    w.sync()
    with open(w.path, "rb") as f:
        assert f.read(4) == b"RF64"
    layout = w.close()
    assert layout.is_rf64 and layout.data_size == 7001 * 3
    with open(w.path, "rb") as f:
        head = f.read(16)
    assert head[:4] == b"RF64" and head[12:16] == b"ds64"
    data, _ = sf.read(w.path, dtype="float32")
    assert data.shape[0] == 7001
    with open(w.path, "rb") as f:
        assert read_layout(f.fileno()).data_size == 7001 * 3


@pytest.mark.parametrize("extra_frames, rf64", [(0, False), (1, True)])
def test_rf64_switch_happens_exactly_when_the_riff_size_passes_the_limit(tmp_path, extra_frames, rf64):
    fmt = AudioFormat(8000, 1, 2)
    probe = WavWriter(tmp_path / "probe.wav", fmt)
    header = probe.close().data_offset  # bytes in front of the samples
    frames = 5000
    limit = header - 8 + frames * 2  # a RIFF size of exactly `limit` still fits in 32 bits
    w = WavWriter(tmp_path / "edge.wav", fmt, rf64_limit=limit)
    w.write(from_float(ramp(frames + extra_frames, 1), 2))
    w.sync()  # the header as a crash would leave it
    with open(w.path, "rb") as f:
        assert f.read(4) == (b"RF64" if rf64 else b"RIFF")
    layout = w.close()
    assert layout.is_rf64 is rf64 and layout.data_size == (frames + extra_frames) * 2
    assert sf.info(w.path).frames == frames + extra_frames


def test_more_than_two_channels_use_extensible_format(tmp_path):
    fmt = AudioFormat(48000, 6, 2)
    w = WavWriter(tmp_path / "six.wav", fmt)
    w.write(from_float(ramp(480, 6), 2))
    w.close()
    assert sf.info(tmp_path / "six.wav").channels == 6


def test_never_overwrites(tmp_path):
    target = tmp_path / "x.wav"
    target.write_bytes(b"precious")
    with pytest.raises(FilingError, match="already exists"):
        WavWriter(target, AudioFormat(48000, 2, 2))
    assert target.read_bytes() == b"precious"


def test_new_file_is_not_world_writable(tmp_path):
    w = WavWriter(tmp_path / "p.wav", AudioFormat(48000, 2, 2))
    w.close()
    assert (tmp_path / "p.wav").stat().st_mode & 0o002 == 0
