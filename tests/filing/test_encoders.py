"""Output formats: the table, the ffmpeg check, and each encoder's output decoded again."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
from trayrip.filing import encoders as enc
from trayrip.capture.base import AudioFormat
from trayrip.filing import sources
from trayrip.filing.encoders import EncodeError, check_format, encode, format_for_path, get_format
from trayrip.wav.copy import copy_wav_range
from trayrip.wav.reader import WavSource
from trayrip.wav.pcm import from_float
from trayrip.recording.writer import WavWriter

# ffmpeg/ffprobe are part of the test set-up (installer/debian-packages.txt): never skipped.


def capture(path, data: np.ndarray, rate: int = 48000, width: int = 2, rf64_limit: int | None = None):
    """A capture file as trayrip writes it (JUNK reserve, optionally RF64 early)."""
    kwargs = {} if rf64_limit is None else {"rf64_limit": rf64_limit}
    w = WavWriter(path, AudioFormat(rate, data.shape[1], width), **kwargs)
    w.write(from_float(data, width))
    w.close()
    return path


def empty(path):
    path.write_bytes(b"")
    return path


def test_format_table_and_lookup():
    assert set(enc.FORMATS) == {"wav", "flac", "mp3", "ogg", "opus"}
    assert get_format("FLAC").suffix == ".flac" and get_format(".ogg").name == "ogg" and get_format("vorbis").name == "ogg"
    assert format_for_path("x/y.Opus").name == "opus" and format_for_path("y.txt") is None
    with pytest.raises(ValueError, match="choose one of wav, flac, mp3, ogg, opus"):
        get_format("aac")
    assert get_format("wav").bits == (16, 24) and get_format("flac").bits == (16, 24)
    assert not get_format("mp3").lossless and get_format("mp3").needs_ffmpeg and not get_format("flac").needs_ffmpeg


def test_missing_ffmpeg_is_reported_when_the_format_is_chosen(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing runnable here
    assert enc.ffmpeg_path() is None
    for name in ("mp3", "ogg", "opus"):
        msg = check_format(name)
        assert msg and "needs ffmpeg" in msg and "kept as WAV" in msg and "apt install ffmpeg" in msg
    assert check_format("wav") is None and check_format("flac") is None


def test_ffmpeg_without_the_encoder_is_reported(monkeypatch):
    monkeypatch.setattr(enc, "_encoders", lambda ffmpeg: frozenset({"flac"}))
    assert "libmp3lame" in check_format("mp3")
    monkeypatch.undo()
    assert check_format("mp3") is None and check_format("opus") is None and check_format("ogg") is None


@pytest.mark.parametrize("width", [2, 3])
def test_wav_copy_is_bit_exact(tmp_path, width):
    b = at.tone_bursts([500, 900], burst=0.5, gap=0.3, lead=0.2, tail=0.2)
    src_path = capture(tmp_path / "c.wav", b.data, width=width)
    with WavSource(src_path) as src:
        encode(src, 4801, 40001, empty(tmp_path / "o.wav"), "wav")
        raw = os.pread(src.fd, (40001 - 4801) * src.format.bytes_per_frame, src.layout.data_offset + 4801 * src.format.bytes_per_frame)
    with WavSource(tmp_path / "o.wav") as out:
        assert out.frames == 35200 and out.format == AudioFormat(48000, 2, width)
        assert bytes(out.read(0, out.frames)) == raw
    assert sf.info(str(tmp_path / "o.wav")).frames == 35200


def test_wav_copy_becomes_rf64_past_the_limit(tmp_path):
    data = at.tone(700, 0.5)
    src_path = capture(tmp_path / "c.wav", data)
    with WavSource(src_path) as src:
        layout = copy_wav_range(src, 0, src.frames, empty(tmp_path / "o.wav"), limit=1000)
    assert layout.is_rf64
    assert (tmp_path / "o.wav").read_bytes()[:4] == b"RF64"
    back, rate = sf.read(str(tmp_path / "o.wav"), dtype="int16")
    np.testing.assert_array_equal(back, np.frombuffer(from_float(data, 2), "<i2").reshape(-1, 2))


@pytest.mark.parametrize("bits", [16, 24])
def test_flac_is_lossless_at_16_and_24_bit(tmp_path, bits):
    rng = np.random.default_rng(1)
    data = (0.4 * rng.standard_normal((48000, 2))).clip(-1, 1).astype(np.float32)
    src_path = capture(tmp_path / "c.wav", data, width=bits // 8)
    with WavSource(src_path) as src:
        encode(src, 1000, 47000, empty(tmp_path / "o.flac"), "flac", block_seconds=0.1)
    info = sf.info(str(tmp_path / "o.flac"))
    assert info.format == "FLAC" and info.subtype == f"PCM_{bits}" and info.frames == 46000
    want, _ = sf.read(str(src_path), dtype="int32")
    got, _ = sf.read(str(tmp_path / "o.flac"), dtype="int32")
    np.testing.assert_array_equal(got, want[1000:47000])


def test_bit_depth_change_goes_through_libsndfile(tmp_path):
    data = at.tone(1000, 0.3, amplitude=0.5)
    src_path = capture(tmp_path / "c.wav", data, width=3)
    with WavSource(src_path) as src:
        encode(src, 0, src.frames, empty(tmp_path / "o.wav"), "wav", bits=16)
        with pytest.raises(ValueError, match="16 or 24"):
            encode(src, 0, src.frames, empty(tmp_path / "x.flac"), "flac", bits=8)
    info = sf.info(str(tmp_path / "o.wav"))
    assert info.subtype == "PCM_16" and info.frames == len(data)
    got, _ = sf.read(str(tmp_path / "o.wav"), dtype="float32")
    assert np.abs(got - data).max() < 2 / 32768


@pytest.mark.parametrize("name, rate, want_rate", [("mp3", 48000, 48000), ("mp3", 96000, 48000), ("mp3", 88200, 44100),
                                                    ("ogg", 44100, 44100), ("opus", 44100, 48000), ("opus", 48000, 48000)])
def test_lossy_formats_decode_to_the_same_music(tmp_path, name, rate, want_rate):
    b = at.tone_bursts([440, 1000, 2500], burst=0.6, gap=0.4, lead=0.3, tail=0.3, rate=rate)
    src_path = capture(tmp_path / "c.wav", b.data, rate=rate, width=3 if rate > 48000 else 2)
    out = empty(tmp_path / f"o.{name}")
    with WavSource(src_path) as src:
        encode(src, 0, src.frames, out, name, block_seconds=0.05)
    data, got_rate = at.read_audio(out)
    assert got_rate == want_rate
    assert abs(len(data) / got_rate - b.duration) < 0.08  # encoder delay/padding only
    found = at.burst_frequencies(data, got_rate, threshold_db=-30)
    assert [round(f, -1) for _, _, f in found] == [440, 1000, 2500]
    for (start, _, _), onset in zip(found, b.onsets):
        assert abs(start - onset) < 0.025 + 0.01  # codec priming is trimmed by the decoders


class CountingSource:
    """A long PcmSource made on the fly, recording the largest block asked for."""

    def __init__(self, seconds: float, rate: int = 48000):
        self.path = None
        self.format = AudioFormat(rate, 2, 2)
        self.frames = int(seconds * rate)
        self.largest = 0
        self._block = from_float(at.tone(440, 1.0, rate=rate, amplitude=0.3), 2)

    def read(self, start, frames):
        self.largest = max(self.largest, frames)
        n = min(frames, self.frames - start)
        reps = -(-n * 4 // len(self._block))
        return (self._block * reps)[: n * 4]

    def close(self):
        pass


def test_lossy_encoding_streams_in_blocks(tmp_path):
    src = CountingSource(60.0)
    out = empty(tmp_path / "o.ogg")
    encode(src, 0, src.frames, out, "ogg", block_seconds=0.5)
    assert src.largest == 24000  # never more than one block in memory
    assert abs(sf.info(str(out)).duration - 60.0) < 0.05


def test_ffmpeg_failure_is_an_encode_error_with_its_message(tmp_path, monkeypatch):
    bad = enc.OutputFormat("mp3", ".mp3", "MP3", False, (), "ffmpeg", "no_such_encoder", "mp3")
    src_path = capture(tmp_path / "c.wav", at.tone(440, 0.5))
    with WavSource(src_path) as src, pytest.raises(EncodeError, match="ffmpeg could not encode MP3.*no_such_encoder"):
        encode(src, 0, src.frames, empty(tmp_path / "o.mp3"), bad)


def test_lossy_without_ffmpeg_is_an_encode_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    src_path = capture(tmp_path / "c.wav", at.tone(440, 0.2))
    with WavSource(src_path) as src, pytest.raises(EncodeError, match="needs ffmpeg"):
        encode(src, 0, src.frames, empty(tmp_path / "o.mp3"), "mp3")


def test_sources_read_the_same_pcm(tmp_path):
    rng = np.random.default_rng(3)
    data = (rng.integers(-(1 << 23), 1 << 23, size=(12000, 2), dtype=np.int32) << 8).astype(np.int32)
    sf.write(str(tmp_path / "a.wav"), data, 48000, subtype="PCM_24")
    sf.write(str(tmp_path / "a.flac"), data, 48000, subtype="PCM_24")
    wav, flac = sources.open_source(tmp_path / "a.wav"), sources.open_source(tmp_path / "a.flac")
    try:
        assert isinstance(wav, WavSource) and isinstance(flac, sources.SoundfileSource)
        assert wav.format == flac.format == AudioFormat(48000, 2, 3)
        assert bytes(wav.read(100, 5000)) == bytes(flac.read(100, 5000))
        want = data[100:5100].reshape(-1).view(np.uint8).reshape(-1, 4)[:, 1:].tobytes()
        assert bytes(wav.read(100, 5000)) == want
    finally:
        wav.close()
        flac.close()


def test_copy_without_copy_file_range_is_the_same(tmp_path, monkeypatch):
    import errno

    def unsupported(*args):
        raise OSError(errno.ENOSYS, "not here")

    data = at.tone(440, 0.5)
    src_path = capture(tmp_path / "c.wav", data, width=3)
    with WavSource(src_path) as src:
        encode(src, 10, 20000, empty(tmp_path / "a.wav"), "wav")
        monkeypatch.setattr(os, "copy_file_range", unsupported)
        encode(src, 10, 20000, empty(tmp_path / "b.wav"), "wav")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_a_rate_change_goes_through_ffmpeg(tmp_path):
    data = at.tone(1000, 1.0, rate=48000)
    src_path = capture(tmp_path / "c.wav", data)
    with WavSource(src_path) as src:
        encode(src, 0, src.frames, empty(tmp_path / "o.flac"), "flac", rate=44100, bits=24)
    got, rate = at.read_audio(tmp_path / "o.flac")
    assert rate == 44100 and sf.info(str(tmp_path / "o.flac")).subtype == "PCM_24"
    assert abs(len(got) - 44100) <= 2 and abs(at.dominant_frequency(got, rate) - 1000) < 1


def test_ffmpeg_path_falls_back_to_imageio_ffmpegs_binary(monkeypatch, tmp_path):
    """Windows has no ffmpeg on PATH: the one in the imageio-ffmpeg wheel is used (README, Windows)."""
    import sys
    import types

    from trayrip.filing import encoders

    exe = tmp_path / "ffmpeg-win-x86_64-v7.1.exe"
    exe.write_bytes(b"")
    exe.chmod(0o755)
    monkeypatch.setattr(encoders, "_pydub_converter", lambda: "ffmpeg")
    monkeypatch.setattr(encoders.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", types.SimpleNamespace(get_ffmpeg_exe=lambda: str(exe)))
    assert encoders.ffmpeg_path() == str(exe)

    def missing():
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", types.SimpleNamespace(get_ffmpeg_exe=missing))
    assert encoders.ffmpeg_path() is None
