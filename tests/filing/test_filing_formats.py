"""Filing a recording: formats, names from templates, tags, WAV fallback, concurrency."""
from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import threading

import mutagen
import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
import trayrip
from trayrip.filing import encoders as enc
from trayrip.capture.base import AudioFormat
from trayrip.capture.fake import FakeSource
from trayrip.errors import FilingError
from trayrip.filing.finish import FilingPlan, file_recording, new_part_path
from trayrip.wav.pcm import from_float
from trayrip.filing.tags import read_wav_info
from trayrip.recording.writer import WavWriter

# ffmpeg/ffprobe are part of the test set-up (installer/debian-packages.txt): never skipped.
TOL = 0.025
WHEN = dt.datetime(2024, 5, 1, 21, 30, 5)


def song(freq=1000.0, rate=48000, lead=0.7, tone=1.2, tail=0.9):
    return np.concatenate([at.silence(lead, rate), at.tone(freq, tone, rate), at.silence(tail, rate)])


def rec(tmp_path, data, rate=48000, bits=16, **options):
    return trayrip.record(len(data) / rate, source=FakeSource(data, rate, bits // 8, speed=None), folder=tmp_path, **options)


def check_song(path, rate, freq=1000.0, tone=1.2, tol=TOL):
    data, got_rate = at.read_audio(path)
    assert got_rate == rate
    start = at.onsets(data, rate)[0]
    assert abs(start - 0.1) <= tol
    assert abs(len(data) / rate - (tone + 0.4)) <= tol + 0.03
    assert abs(at.dominant_frequency(data, rate) - freq) < 3


def only_files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "fmt, rate, bits",
    [("wav", 44100, 16), ("wav", 96000, 24), ("flac", 44100, 16), ("flac", 96000, 24),
     ("mp3", 44100, 16), ("ogg", 48000, 24),
     ("opus", 48000, 16)],
)
def test_each_format_is_filed_trimmed_and_tagged(tmp_path, fmt, rate, bits):
    path = rec(tmp_path, song(rate=rate), rate, bits, format=fmt, title="Night Drive", template="{title} {date}")
    assert path.name == f"Night Drive {dt.date.today():%Y-%m-%d}.{fmt}"
    check_song(path, rate)
    info = sf.info(str(path))
    if fmt in ("wav", "flac"):
        assert info.subtype == f"PCM_{bits}"  # bit depth kept
        tags = read_wav_info(path) if fmt == "wav" else {k: v[0] for k, v in mutagen.File(str(path)).items()}
        title = tags.get("INAM") or tags.get("title")
        album = tags.get("IPRD") or tags.get("album")
        date = tags.get("ICRD") or tags.get("date")
    else:
        f = mutagen.File(str(path))
        title = str(f.tags["TIT2"]) if fmt == "mp3" else f["title"][0]
        album = str(f.tags["TALB"]) if fmt == "mp3" else f["album"][0]
        date = str(f.tags["TDRC"]) if fmt == "mp3" else f["date"][0]
    assert title == "Night Drive" and album == f"trayrip {dt.date.today():%Y-%m-%d}" and date == f"{dt.date.today():%Y-%m-%d}"
    assert only_files(tmp_path) == [path.name]  # no capture or temporary file left


def test_output_suffix_picks_the_format(tmp_path):
    out = tmp_path / "exact.flac"
    path = trayrip.record(len(song()) / 48000, source=FakeSource(song(), 48000, speed=None), output=out)
    assert path == out and sf.info(str(out)).format == "FLAC"
    check_song(out, 48000)
    with pytest.raises(FilingError, match="unknown audio type"):
        trayrip.record(1.0, source=FakeSource(song(), 48000, speed=None), output=tmp_path / "x.aac")


def test_bad_template_is_refused_before_recording(tmp_path):
    with pytest.raises(FilingError, match="unknown field"):
        rec(tmp_path, song(), template="{composer}")
    assert only_files(tmp_path) == []


def test_wav_is_filed_in_place_without_a_copy(tmp_path):
    """WAV without split: the capture file itself becomes the recording (O(1) at stop)."""
    part = new_part_path(tmp_path)
    w = WavWriter(part, AudioFormat(48000, 2, 2))
    w.write(from_float(song(), 2))
    w.close()
    inode = os.stat(part).st_ino
    keep = (round(0.6 * 48000), round(2.2 * 48000))
    filed = file_recording(part, keep=keep, plan=FilingPlan(title="t"), folder=tmp_path, when=WHEN)
    assert os.stat(filed.path).st_ino == inode and not part.exists()
    assert filed.path.name == "2024-05-01 21-30-05.wav"
    assert read_wav_info(filed.path)["INAM"] == "t"
    check_song(filed.path, 48000)


def test_templates_with_folders_stay_inside_and_never_overwrite(tmp_path):
    a = rec(tmp_path, song(), template="{date}/{title}", title="../../escape")
    b = rec(tmp_path, song(), template="{date}/{title}", title="../../escape")
    day = f"{dt.date.today():%Y-%m-%d}"
    assert a == tmp_path / day / "_.._escape.wav" and b == tmp_path / day / "_.._escape (2).wav"
    c = rec(tmp_path, song(), template="{title}", title="CON")
    d = rec(tmp_path, song(), template="{title}", title="con")
    assert (c.name, d.name) == ("_CON.wav", "_con.wav")
    e = rec(tmp_path, song(), template="{title} {counter:02d}", title="x/y")
    f = rec(tmp_path, song(), template="{title} {counter:02d}", title="x/y")
    assert (e.name, f.name) == ("x_y 01.wav", "x_y 02.wav")
    assert all(p.resolve().is_relative_to(tmp_path.resolve()) for p in tmp_path.rglob("*"))


def no_ffmpeg(monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_missing_ffmpeg_keeps_the_recording_as_wav(tmp_path, monkeypatch, caplog):
    no_ffmpeg(monkeypatch, tmp_path)
    monkeypatch.setattr(enc, "_warned", set())
    out = tmp_path / "music"
    with caplog.at_level(logging.WARNING):
        r = trayrip.Recording(source=FakeSource(song(), 48000, speed=None), folder=out, format="mp3", title="x", template="{title}")
        r.start(max_seconds=len(song()) / 48000)
        warned_at_start = [m for m in caplog.messages if "needs ffmpeg" in m]
        r.wait_done(30)
        filed = r.stop()
    assert warned_at_start, "the missing ffmpeg is reported when the format is chosen"
    assert filed.path == out / "x.wav" and filed.format == "wav" and "kept as WAV" in filed.note
    check_song(filed.path, 48000)
    assert only_files(out) == ["x.wav"]


def test_failing_encoder_keeps_the_recording_as_wav(tmp_path, monkeypatch):
    broken = enc.OutputFormat("mp3", ".mp3", "MP3", False, (), "ffmpeg", "mp3", "mp3", ("-no_such_option", "1"))
    monkeypatch.setitem(enc.FORMATS, "mp3", broken)
    path = rec(tmp_path, song(), format="mp3", template="{title}", title="y")
    assert path == tmp_path / "y.wav"
    check_song(path, 48000)
    assert only_files(tmp_path) == ["y.wav"]  # the failed encoder's temporary file is gone


def test_cli_says_at_once_that_ffmpeg_is_missing(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path), PULSE_SERVER=f"unix:{tmp_path}/nothing-here", HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-m", "trayrip", "record", "-d", "1", "--format", "opus", "--folder", str(tmp_path)],
                          capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert "Opus needs ffmpeg" in done.stderr and "kept as WAV" in done.stderr
    assert done.stderr.count("needs ffmpeg") == 1
    # before any recording: here none starts (no sound server), and no "Recording ..." line claims one did
    assert done.returncode == 1 and "Recording" not in done.stderr


@pytest.mark.parametrize("args, needle", [
    (["--format", "aac"], "choose one of"),
    (["--template", "{x}"], "unknown field"),
    (["--split", "0"], "positive"),
    (["--output", "a.flac", "--format", "mp3"], "does not match"),
    (["--output", "a.wav", "--split"], "--folder"),
])
def test_cli_record_option_errors(tmp_path, args, needle):
    args = [str(tmp_path / a) if a.startswith("a.") else a for a in args]
    done = subprocess.run([sys.executable, "-m", "trayrip", "record", "-d", "1", *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode in (1, 2) and needle in done.stderr and "Traceback" not in done.stderr


def make_part(folder, freq, seconds=1.0):
    part = new_part_path(folder)
    part = part.with_name(part.name.replace(".wav.part", f"-{freq}.wav.part"))
    w = WavWriter(part, AudioFormat(48000, 2, 2))
    w.write(from_float(at.tone(freq, seconds), 2))
    w.close()
    return part


@pytest.mark.parametrize("template, split", [("{title}", False), ("{title} {counter}", False), ("{title}", True)])
def test_concurrent_filing_never_overwrites(tmp_path, template, split):
    freqs = [300 + 100 * i for i in range(12)]
    parts = [make_part(tmp_path, f, seconds=2.5 if split else 1.0) for f in freqs]
    regions = [(0, 48000), (96000, 120000)]  # two pieces when split
    barrier = threading.Barrier(len(parts))
    results, errors = [], []

    def worker(part):
        try:
            barrier.wait()
            plan = FilingPlan(template=template, title="same", split=split, min_track=0.1)
            results.append(file_recording(part, keep=None, regions=regions, plan=plan, folder=tmp_path, when=WHEN))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    paths = [r.path for r in results]
    assert len(set(paths)) == len(parts)
    files = [t for r in results for t in r.tracks] if split else paths
    heard = sorted(round(at.dominant_frequency(at.read_audio(p)[0])) for p in files)
    want = sorted(f for f in freqs for _ in range(2 if split else 1))
    assert all(abs(h - w) <= 2 for h, w in zip(heard, want))  # every recording intact, none replaced
    assert not list(tmp_path.glob(".trayrip-*"))
