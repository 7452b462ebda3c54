"""Splitting into tracks: the plan (pure), live recordings (fake source) and files (trayrip split)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
import trayrip
from trayrip.capture.fake import FakeSource
from trayrip.filing.split import merge_short, plan_tracks, playlist_text
from trayrip.filing.tags import read_wav_info

R = 1000  # frames per second in the pure tests: numbers read as milliseconds
TOL = 0.025


def plan(regions, total, min_track=0.0, trim=True, before=0.1, after=0.3):
    return plan_tracks(regions, total, R, pad_before=before, pad_after=after, min_track=min_track, trim=trim)


def test_tracks_are_the_sound_plus_pads():
    assert plan([(1000, 5000), (8000, 12000)], 15000) == [(900, 5300), (7900, 12300)]


def test_untrimmed_split_keeps_the_outer_silence():
    assert plan([(1000, 5000), (8000, 12000)], 15000, trim=False) == [(0, 5300), (7900, 15000)]


def test_pads_never_cross_the_middle_of_a_gap():
    assert plan([(1000, 2000), (2200, 3000)], 4000, before=1.0, after=1.0) == [(0, 2100), (2100, 4000)]


def test_no_sound_is_one_track_of_everything():
    assert plan([], 5000) == [(0, 5000)]
    assert plan([], 0) == []


def test_short_pieces_merge_into_the_nearer_neighbour():
    # 2 s piece, 3 s gap, 40 s piece, 10 s gap, 40 s piece, 2.5 s gap, 1 s piece
    regions = [(0, 2000), (5000, 45000), (55000, 95000), (97500, 98500)]
    assert merge_short(regions, 30000) == [(0, 45000), (55000, 98500)]
    # a short piece between two unequal gaps joins the neighbour across the shorter one, either way round
    assert merge_short([(0, 40000), (43000, 44000), (45000, 90000)], 30000) == [(0, 40000), (43000, 90000)]
    assert merge_short([(0, 40000), (41000, 42000), (45000, 90000)], 30000) == [(0, 42000), (45000, 90000)]
    # equal gaps: the earlier neighbour wins
    assert merge_short([(0, 40000), (43000, 44000), (47000, 90000)], 30000) == [(0, 44000), (47000, 90000)]
    # everything short: one piece
    assert merge_short([(0, 1000), (4000, 5000), (9000, 9500)], 30000) == [(0, 9500)]


def test_playlist_is_extended_m3u_in_order():
    text = playlist_text([("01 a.flac", 61.4, "A - Track 1"), ("#2.flac", 3, "x\ny")])
    assert text == "#EXTM3U\n#EXTINF:61,A - Track 1\n01 a.flac\n#EXTINF:3,x y\n./#2.flac\n"


SONGS = [440.0, 880.0, 1320.0, 660.0]


def songs(rate=48000, lead=1.0, tail=1.5, gap=2.6, song=3.0, width_freqs=SONGS, short_gap_after=None):
    """Tone 'songs' separated by silences; returns (data, [(start, end) seconds of each song])."""
    parts, truth, pos = [at.silence(lead, rate)], [], lead
    for i, f in enumerate(width_freqs):
        if i:
            g = 0.5 if short_gap_after == i else gap
            parts.append(at.silence(g, rate))
            pos += g
        parts.append(at.tone(f, song, rate))
        truth.append((pos, pos + song))
        pos += song
    parts.append(at.silence(tail, rate))
    return np.concatenate(parts), truth


def check_tracks(tracks, truth, freqs, rate):
    assert len(tracks) == len(truth)
    for path, (start, end), freq in zip(tracks, truth, freqs):
        data, got_rate = at.read_audio(path)
        assert got_rate == rate
        bursts = at.find_bursts(data, rate, threshold_db=-30)
        assert abs(bursts[0][0] - 0.1) <= TOL, (path, bursts)  # starts pad_before ahead of the song
        assert abs(len(data) / rate - (end - start + 0.1 + 0.3)) <= TOL  # and ends pad_after after it
        assert abs(at.dominant_frequency(data, rate) - freq) < 2


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_live_recording_is_split_at_the_silences(tmp_path, fmt):
    data, truth = songs()
    folder = trayrip.record(
        len(data) / 48000, source=FakeSource(data, 48000, speed=None), folder=tmp_path,
        format=fmt, split=True, min_track=1.0, title="Side A",
    )
    assert folder.is_dir() and folder.parent == tmp_path
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d-\d\d-\d\d", folder.name)  # the default template
    tracks = sorted(folder.glob(f"*.{fmt}"))
    assert [t.name for t in tracks] == [f"0{i} {folder.name}.{fmt}" for i in range(1, 5)]
    check_tracks(tracks, truth, SONGS, 48000)
    playlist = (folder / f"{folder.name}.m3u8").read_text(encoding="utf-8").splitlines()
    assert playlist[0] == "#EXTM3U" and playlist[2::2] == [t.name for t in tracks]
    for i, t in enumerate(tracks, 1):
        if fmt == "flac":
            tags = mutagen.File(str(t))
            assert tags["tracknumber"] == [str(i)] and tags["tracktotal"] == ["4"] and tags["album"] == ["Side A"]
        else:
            info = read_wav_info(t)
            assert info["ITRK"] == f"{i}/4" and info["IPRD"] == "Side A"
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # the capture file is gone, nothing else left


def test_a_short_gap_does_not_split_and_short_pieces_merge(tmp_path):
    # the gap after song 2 is 0.5 s (< 2 s): songs 2 and 3 are one track
    data, truth = songs(short_gap_after=2)
    folder = trayrip.record(len(data) / 48000, source=FakeSource(data, 48000, speed=None), folder=tmp_path,
                            split=True, min_track=1.0, template="{title}", title="mix")
    tracks = sorted(folder.glob("*.wav"))
    assert len(tracks) == 3
    merged = (truth[1][0], truth[2][1])
    for path, (start, end) in zip(tracks, [truth[0], merged, truth[3]]):
        d, rate = at.read_audio(path)
        assert abs(len(d) / rate - (end - start + 0.4)) <= TOL
    # with a 30 s minimum every 3 s song is too short: one recording, no folder
    path = trayrip.record(len(data) / 48000, source=FakeSource(data, 48000, speed=None), folder=tmp_path,
                          split=True, min_track=30.0, template="{title}", title="single")
    assert path.is_file() and path.name == "single.wav"
    d, rate = at.read_audio(path)
    assert abs(len(d) / rate - (truth[-1][1] - truth[0][0] + 0.4)) <= TOL


def test_split_gap_is_configurable(tmp_path):
    data, truth = songs(gap=1.5)
    from trayrip.recording.silence import SilenceSettings

    folder = trayrip.record(len(data) / 48000, source=FakeSource(data, 48000, speed=None), folder=tmp_path,
                            split=True, min_track=1.0, silence=SilenceSettings(region_gap=1.0))
    assert len(list(folder.glob("*.wav"))) == 4


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "trayrip", *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
def test_split_command_on_a_file(tmp_path, subtype):
    data, truth = songs(rate=44100)
    src = at.write_wav(tmp_path / "concert.wav", data, rate=44100, subtype=subtype)
    dry = run_cli("split", "--dry-run", "--min-track", "1", src)
    assert dry.returncode == 0, dry.stderr
    points = [tuple(map(float, line.split("\t")[:2])) for line in dry.stdout.splitlines()]
    assert len(points) == 4
    for (a, b), (s, e) in zip(points, truth):
        assert abs(a - (s - 0.1)) <= TOL and abs(b - (e + 0.3)) <= TOL
    done = run_cli("split", "--min-track", "1", "-o", tmp_path / "out", src)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "out" / "concert"
    assert done.stdout.strip() == str(folder)
    tracks = sorted(folder.glob("*.wav"))
    assert [t.name for t in tracks] == [f"0{i} concert.wav" for i in range(1, 5)]
    assert sf.info(str(tracks[0])).subtype == subtype
    check_tracks(tracks, truth, SONGS, 44100)
    # WAV tracks are byte copies of the input's samples
    whole, _ = sf.read(str(src), dtype="int32")
    first, _ = sf.read(str(tracks[0]), dtype="int32")
    start = round(points[0][0] * 44100)
    np.testing.assert_array_equal(first, whole[start : start + len(first)])
    again = run_cli("split", "--min-track", "1", "-o", tmp_path / "out", src)
    assert again.stdout.strip() == str(tmp_path / "out" / "concert (2)")  # never into an existing folder


def test_split_command_to_flac_from_flac(tmp_path):
    data, truth = songs()
    src = tmp_path / "live.flac"
    sf.write(str(src), data, 48000, subtype="PCM_24")
    done = run_cli("split", "--min-track", "1", src)
    assert done.returncode == 0, done.stderr
    tracks = sorted((tmp_path / "live").glob("*.flac"))
    assert len(tracks) == 4 and sf.info(str(tracks[0])).subtype == "PCM_24"
    check_tracks(tracks, truth, SONGS, 48000)


# -- a real recording through the sound server (tests/harness.py) ---------------------------------------------
def test_real_recording_is_split_into_tagged_tracks(harness, user_env, tmp_path):
    from recorder_tools import start_record, wait_for_capture_file

    freqs = [700.0, 1100.0, 1900.0]
    data, truth = songs(lead=0.3, tail=0.6, gap=1.6, song=1.2, width_freqs=freqs)
    played = at.write_wav(tmp_path / "songs.wav", data)
    folder = tmp_path / "out"
    proc = start_record(user_env, "--duration", "11", "--folder", str(folder), "--format", "flac",
                        "--split", "1.0", "--min-track", "0.5", "--title", "Radio", "--template", "{title}")
    wait_for_capture_file(folder)
    harness.let_sink_run(0.3)
    harness.play(played)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    filed = Path(out.strip().splitlines()[-1])
    assert filed == folder / "Radio" and filed.is_dir()
    tracks = sorted(filed.glob("*.flac"))
    assert [t.name for t in tracks] == ["01 Radio.flac", "02 Radio.flac", "03 Radio.flac"]
    check_tracks(tracks, truth, freqs, 48000)
    for i, t in enumerate(tracks, 1):
        tags = mutagen.File(str(t))
        assert tags["tracknumber"] == [str(i)] and tags["album"] == ["Radio"] and tags["title"] == [f"Track {i}"]
    assert (filed / "Radio.m3u8").read_text(encoding="utf-8").splitlines()[2::2] == [t.name for t in tracks]
    assert sorted(p.name for p in folder.iterdir()) == ["Radio"]


def test_a_failed_split_keeps_the_recording_as_one_wav(tmp_path, monkeypatch):
    import errno

    from trayrip.filing import encoders as enc

    calls = []

    def disk_full(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:  # the first track fits, the second does not
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    real = enc.copy_wav_range
    monkeypatch.setattr(enc, "copy_wav_range", disk_full)
    data, truth = songs()
    rec = trayrip.Recording(source=FakeSource(data, 48000, speed=None), folder=tmp_path, split=True, min_track=1.0,
                            template="{title}", title="t")
    rec.start(max_seconds=len(data) / 48000)
    assert rec.wait_done(30)
    filed = rec.stop()
    assert filed.path == tmp_path / "t.wav" and "splitting into tracks failed" in filed.note
    assert filed.paths == (filed.path,) and filed.playlist is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.wav"]  # no half-made folder, no capture file
    d, rate = at.read_audio(filed.path)
    assert abs(len(d) / rate - (truth[-1][1] - truth[0][0] + 0.4)) <= TOL


def test_filed_recording_lists_its_tracks(tmp_path):
    data, truth = songs()
    rec = trayrip.Recording(source=FakeSource(data, 48000, speed=None), folder=tmp_path, split=True, min_track=1.0,
                            template="{title}", title="list")
    rec.start(max_seconds=len(data) / 48000)
    assert rec.wait_done(30)
    filed = rec.stop()
    assert filed.path == tmp_path / "list" and filed.playlist == filed.path / "list.m3u8"
    assert filed.paths == filed.tracks == tuple(sorted(filed.path.glob("*.wav")))
    assert filed.note is None and filed.format == "wav" and len(filed.tracks) == 4
