"""ReplayGain tags at filing: measured while recording (one file) or while writing each track (split)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
import trayrip
from loudness_tools import ffmpeg_lufs, ffprobe_tags, replaygain_tags
from trayrip.capture.fake import FakeSource
from trayrip.filing.tags import Tags, write_tags


def sine(db: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.repeat((10 ** (db / 20) * np.sin(2 * np.pi * 1000 * t))[:, None], 2, axis=1).astype(np.float32)


def rec(tmp_path, data, rate=48000, bits=16, **options):
    return trayrip.record(len(data) / rate, source=FakeSource(data, rate, bits // 8, speed=None), folder=tmp_path,
                          **options)


def gain_db(text: str) -> float:
    assert text.endswith(" dB"), text
    return float(text[:-3])


@pytest.mark.parametrize("fmt, rate, bits", [("wav", 48000, 16), ("wav", 44100, 24), ("flac", 44100, 16),
                                            ("mp3", 44100, 16), ("ogg", 48000, 16)])
def test_track_gain_and_peak_written_in_each_format(tmp_path, fmt, rate, bits):
    """A -26 dBFS stereo sine is -26 LUFS: +8 dB to -18 LUFS (a little more: the gated blocks across its ends are
    quieter, as ffmpeg measures too), peak 0.050119; mutagen and ffprobe read them."""
    # 20 s, so the few blocks across its ends (aligned differently in the trimmed file) weigh little.
    data = np.concatenate([at.silence(0.5, rate), sine(-26, 20.0, rate), at.silence(0.5, rate)])
    path = rec(tmp_path, data, rate, bits, format=fmt)
    tags = replaygain_tags(path)
    assert 8.0 <= gain_db(tags["REPLAYGAIN_TRACK_GAIN"]) <= 8.1, tags
    assert abs(float(tags["REPLAYGAIN_TRACK_PEAK"]) - 10 ** (-26 / 20)) < 2e-4, tags
    assert len(tags["REPLAYGAIN_TRACK_PEAK"].split(".")[1]) == 6
    assert "REPLAYGAIN_ALBUM_GAIN" not in tags
    # What the filed file itself measures (the trimmed, encoded audio) agrees with the live measurement.
    assert abs((-18.0 - ffmpeg_lufs(path)) - gain_db(tags["REPLAYGAIN_TRACK_GAIN"])) <= 0.1
    if fmt != "wav":  # ffprobe does not read a WAV's id3 chunk; mutagen (beets, Picard) does
        assert ffprobe_tags(path)["REPLAYGAIN_TRACK_GAIN"] == tags["REPLAYGAIN_TRACK_GAIN"]


def test_opus_gets_r128_track_gain(tmp_path):
    data = np.concatenate([at.silence(0.5), sine(-26, 20.0, 48000), at.silence(0.5)])
    path = rec(tmp_path, data, format="opus")
    tags = replaygain_tags(path)
    # -26 LUFS is 3 dB under -23: 768 in Q7.8 (a little more for the blocks across the tone's ends)
    assert 3 * 256 <= int(tags["R128_TRACK_GAIN"]) <= round(3.1 * 256), tags
    assert abs((-23.0 - ffmpeg_lufs(path)) * 256 - int(tags["R128_TRACK_GAIN"])) <= 0.1 * 256
    assert not any(k.startswith("REPLAYGAIN_") for k in tags)


def test_no_replaygain_writes_none(tmp_path):
    data = np.concatenate([at.silence(0.5), sine(-26, 2.0, 48000), at.silence(0.5)])
    for fmt in ("wav", "flac"):
        path = rec(tmp_path / fmt, data, format=fmt, replaygain=False)
        assert replaygain_tags(path) == {}


def test_silence_gets_no_gain(tmp_path):
    path = rec(tmp_path, at.silence(2.0), format="flac")
    assert replaygain_tags(path) == {}


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_split_tracks_get_track_and_album_gain(tmp_path, fmt):
    """Two pieces 10 dB apart: each its own track gain, both the album gain of the two together (as ffmpeg
    measures the two files played one after the other: libebur128's global loudness of several files is the
    same histogram sum, and the blocks across the join are too few to matter at 12 s a piece)."""
    rate = 48000
    data = np.concatenate([at.silence(0.5, rate), sine(-20, 12.0, rate), at.silence(3.0, rate),
                           sine(-30, 12.0, rate), at.silence(0.5, rate)])
    filed = trayrip.Recording(source=FakeSource(data, rate, speed=None), folder=tmp_path, format=fmt, split=True,
                              min_track=1.0)
    filed.start(len(data) / rate)
    assert filed.wait_done(30)
    result = filed.stop()
    tracks = list(result.tracks)
    assert len(tracks) == 2
    tags = [replaygain_tags(p) for p in tracks]
    for path, tag, level in zip(tracks, tags, (-20, -30)):
        assert abs((-18.0 - ffmpeg_lufs(path)) - gain_db(tag["REPLAYGAIN_TRACK_GAIN"])) <= 0.1
        assert -18 - level <= gain_db(tag["REPLAYGAIN_TRACK_GAIN"]) <= -18 - level + 0.2
    assert tags[0]["REPLAYGAIN_ALBUM_GAIN"] == tags[1]["REPLAYGAIN_ALBUM_GAIN"]
    assert abs(float(tags[0]["REPLAYGAIN_ALBUM_PEAK"]) - 0.1) < 2e-4
    joined = tmp_path / "album.wav"
    subprocess.run(["sox", *map(str, tracks), "-b", "16", str(joined)], check=True, timeout=60)
    assert abs((-18.0 - ffmpeg_lufs(joined)) - gain_db(tags[0]["REPLAYGAIN_ALBUM_GAIN"])) <= 0.1


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "trayrip", *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("suffix, in_place", [(".wav", False), (".wav", True), (".flac", False), (".flac", True),
                                              (".mp3", False)])
def test_trim_computes_it_offline_and_keeps_the_other_tags(tmp_path, suffix, in_place):
    rate = 44100
    data = np.concatenate([at.silence(1.0, rate), sine(-21, 15.0, rate), at.silence(1.0, rate)])
    src = tmp_path / f"song{suffix}"
    if suffix == ".mp3":
        wav = tmp_path / "w.wav"
        at.write_wav(wav, data, rate)
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-metadata", "title=Kept",
                        str(src)], check=True, timeout=60)
    else:
        sf.write(str(src), data, rate, subtype="PCM_16")
        write_tags(src, suffix[1:], Tags(title="Kept"))
    args = ["trim", "-q", src] + (["--in-place"] if in_place else [])
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    out = src if in_place else Path(done.stdout.strip())
    tags = replaygain_tags(out)
    assert abs((-18.0 - ffmpeg_lufs(out)) - gain_db(tags["REPLAYGAIN_TRACK_GAIN"])) <= 0.1, tags
    if suffix != ".mp3":  # (the MP3 made here by ffmpeg is not the sine's level any more; ffmpeg agrees above)
        assert 3.0 <= gain_db(tags["REPLAYGAIN_TRACK_GAIN"]) <= 3.1
        assert abs(float(tags["REPLAYGAIN_TRACK_PEAK"]) - 10 ** (-21 / 20)) < 2e-3
    title = mutagen.File(str(out)).tags
    assert "Kept" in str(title.get("TIT2") or title.get("title")), title
    assert at.read_audio(out)[0].shape[0] < data.shape[0]  # it really was trimmed


def test_split_and_no_replaygain_offline(tmp_path):
    rate = 48000
    data = np.concatenate([at.silence(0.5, rate), sine(-20, 6.0, rate), at.silence(3.0, rate),
                           sine(-30, 6.0, rate), at.silence(0.5, rate)])
    src = tmp_path / "set.flac"
    sf.write(str(src), data, rate, subtype="PCM_16")
    done = run_cli("split", "-q", "--min-track", "1", src, "-o", tmp_path / "a")
    assert done.returncode == 0, done.stderr
    tracks = sorted((tmp_path / "a").rglob("*.flac"))
    assert len(tracks) == 2
    tags = [replaygain_tags(p) for p in tracks]
    assert gain_db(tags[0]["REPLAYGAIN_TRACK_GAIN"]) < gain_db(tags[1]["REPLAYGAIN_TRACK_GAIN"]) - 9
    assert tags[0]["REPLAYGAIN_ALBUM_GAIN"] == tags[1]["REPLAYGAIN_ALBUM_GAIN"]
    done = run_cli("split", "-q", "--no-replaygain", "--min-track", "1", src, "-o", tmp_path / "b")
    assert done.returncode == 0, done.stderr
    assert all(replaygain_tags(p) == {} for p in (tmp_path / "b").rglob("*.flac"))
    done = run_cli("trim", "-q", "--no-replaygain", src)
    assert done.returncode == 0, done.stderr
    assert replaygain_tags(Path(done.stdout.strip())) == {}


@pytest.mark.parametrize("fmt", ["flac", "mp3", "opus"])
def test_a_replaygain_aware_player_reads_the_tags(tmp_path, fmt):
    """mpv (its tag reader, as it applies ReplayGain) finds the gain trayrip wrote; for Opus it converts
    R128_TRACK_GAIN (-23 LUFS) to the -18 LUFS reference itself."""
    import re
    import shutil

    mpv = shutil.which("mpv")
    assert mpv, "mpv is part of the test set-up"
    data = np.concatenate([at.silence(0.5), sine(-26, 20.0, 48000), at.silence(0.5)])
    path = rec(tmp_path, data, format=fmt)
    done = subprocess.run([mpv, "--no-config", "--ao=null", "--no-video", "--end=0.1", "--replaygain=track",
                           "--msg-level=all=no,cplayer=v", str(path)], capture_output=True, text=True, timeout=60)
    found = re.search(r"Replaygain: Track=(-?[\d.]+)/([\d.]+)", done.stdout + done.stderr)
    assert found, done.stdout + done.stderr
    assert 8.0 <= float(found.group(1)) <= 8.1
    if fmt != "opus":  # Opus has no peak tag
        assert abs(float(found.group(2)) - 10 ** (-26 / 20)) < 2e-4


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_normalize_track_reaches_minus_18_lufs_and_keeps_the_peak_under_minus_1(tmp_path, fmt):
    rate = 48000
    loud = np.concatenate([at.silence(0.5, rate), sine(-8, 15.0, rate), at.silence(0.5, rate)])
    path = rec(tmp_path / "loud", loud, rate, format=fmt, normalize="track")
    assert abs(ffmpeg_lufs(path) - -18.0) <= 0.1  # turned down by ~10 dB
    tags = replaygain_tags(path)
    assert abs(gain_db(tags["REPLAYGAIN_TRACK_GAIN"])) <= 0.1  # the tags describe the file as it is now
    # a quiet sine (-30 LUFS, peak -30 dBFS) with rare clicks at -3 dBFS: lifted only until they reach -1 dBFS
    quiet = sine(-30, 15.0, rate)
    quiet[rate::rate] = 10 ** (-3 / 20)
    path = rec(tmp_path / "quiet", np.concatenate([at.silence(0.5, rate), quiet, at.silence(0.5, rate)]), rate,
               format=fmt, normalize="track")
    data, _ = sf.read(str(path), always_2d=True)
    assert abs(20 * np.log10(np.abs(data).max()) - -1.0) < 0.05
    assert abs(ffmpeg_lufs(path) - (-30.0 + 2.0)) <= 0.15


def test_normalize_album_keeps_the_tracks_apart(tmp_path):
    rate = 48000
    data = np.concatenate([at.silence(0.5, rate), sine(-14, 12.0, rate), at.silence(3.0, rate),
                           sine(-24, 12.0, rate), at.silence(0.5, rate)])
    recording = trayrip.Recording(source=FakeSource(data, rate, speed=None), folder=tmp_path, format="flac",
                                  split=True, min_track=1.0, normalize="album")
    recording.start(len(data) / rate)
    assert recording.wait_done(30)
    tracks = list(recording.stop().tracks)
    levels = [ffmpeg_lufs(p) for p in tracks]
    assert abs((levels[0] - levels[1]) - 10.0) <= 0.2  # one gain for both: their difference is kept
    assert abs(gain_db(replaygain_tags(tracks[0])["REPLAYGAIN_ALBUM_GAIN"])) <= 0.1  # the album is at -18 now
