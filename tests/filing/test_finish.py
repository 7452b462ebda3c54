"""Folders, names and placement: never overwrite, always a valid file."""
from __future__ import annotations

import datetime as dt
import threading

import numpy as np
import pytest
import soundfile as sf

from trayrip.errors import FilingError
from trayrip.filing.finish import claim_name, finish_wav, new_part_path, place_exclusive, prepare_folder, timestamp_stem
from trayrip.wav.edit import IN_PLACE_MAX_LEAD

from audio_tools import make_capture


def test_timestamp_stem_is_portable():
    stem = timestamp_stem(dt.datetime(2026, 1, 2, 3, 4, 5))
    assert stem == "2026-01-02 03-04-05"
    assert not set(stem) & set('<>:"/\\|?*')


def test_place_exclusive_counts_up_and_never_overwrites(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"old")
    paths = []
    for i in range(3):
        src = tmp_path / f".src{i}"
        src.write_bytes(b"new%d" % i)
        paths.append(place_exclusive(src, tmp_path, "a", ".wav"))
    assert [p.name for p in paths] == ["a (2).wav", "a (3).wav", "a (4).wav"]
    assert (tmp_path / "a.wav").read_bytes() == b"old"
    assert not list(tmp_path.glob(".src*"))


def test_concurrent_placement_gives_distinct_names(tmp_path):
    srcs = []
    for i in range(16):
        s = tmp_path / f".p{i}"
        s.write_bytes(b"%d" % i)
        srcs.append(s)
    out = []
    threads = [threading.Thread(target=lambda s=s: out.append(place_exclusive(s, tmp_path, "x", ".wav"))) for s in srcs]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(set(out)) == 16
    assert sorted(p.read_bytes() for p in out) == sorted(b"%d" % i for i in range(16))


def test_claim_name_refuses_existing(tmp_path):
    src, dst = tmp_path / "s", tmp_path / "d"
    src.write_bytes(b"1")
    dst.write_bytes(b"2")
    assert claim_name(src, dst) is False
    assert dst.read_bytes() == b"2" and src.exists()


def test_prepare_folder_creates_and_checks(tmp_path):
    target = tmp_path / "Music" / "playlists"
    assert prepare_folder(target) == target and target.is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FilingError, match="not a folder"):
        prepare_folder(blocker)


def test_finish_wav_trims_and_files(tmp_path):
    part = new_part_path(tmp_path)
    orig = make_capture(part, 48000)
    filed = finish_wav(part, (4800, 24000), folder=tmp_path, stem="rec")
    assert filed.path == tmp_path / "rec.wav" and not part.exists()
    data, _ = sf.read(filed.path, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(data, orig[4800:24000])
    assert filed.frames == 19200


def test_finish_wav_copies_when_the_lead_is_large(tmp_path, monkeypatch):
    monkeypatch.setattr("trayrip.filing.finish.IN_PLACE_MAX_LEAD", 100)
    assert IN_PLACE_MAX_LEAD > 100
    part = new_part_path(tmp_path)
    orig = make_capture(part, 10000)
    filed = finish_wav(part, (5000, 9000), folder=tmp_path, stem="rec")
    data, _ = sf.read(filed.path, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(data, orig[5000:9000])
    assert filed.path.stat().st_size < 5000 * 4


def test_finish_wav_to_existing_output_keeps_the_part(tmp_path):
    part = new_part_path(tmp_path)
    make_capture(part, 1000)
    out = tmp_path / "taken.wav"
    out.write_bytes(b"mine")
    with pytest.raises(FilingError, match="not overwriting"):
        finish_wav(part, None, output=out)
    assert out.read_bytes() == b"mine" and part.exists()


def test_spliced_source_reads_ranges_back_to_back(tmp_path):
    """A track with its pause cut out is read as one stream: any block, across the joins."""
    import numpy as np

    from audio_tools import make_capture
    from trayrip.filing.sources import SplicedSource
    from trayrip.wav.reader import WavSource

    orig = make_capture(tmp_path / "c.wav", 5000, 2, 2)
    ranges = [(100, 1100), (3000, 3500), (4000, 5000)]
    want = np.concatenate([orig[s:e] for s, e in ranges])
    with WavSource(tmp_path / "c.wav") as wav:
        src = SplicedSource(wav, ranges)
        assert src.frames == 2500
        for start, n in [(0, 2500), (950, 100), (1000, 500), (1499, 2), (2400, 500), (0, 1)]:
            got = np.frombuffer(src.read(start, n), "<i2").reshape(-1, 2).astype(np.int32) << 16
            np.testing.assert_array_equal(got, want[start : start + n], err_msg=f"{start}+{n}")
