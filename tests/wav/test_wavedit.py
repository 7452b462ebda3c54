"""Cutting a capture file by frame range: in place (O(1)) and by copy."""
from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from audio_tools import make_capture
from trayrip.wav.edit import copy_range, cut_in_place


@pytest.mark.parametrize(
    "channels,width,start,end",
    [(2, 2, 4800, 30000), (1, 3, 4801, 20000), (2, 3, 0, 1000), (1, 2, 3, 500), (2, 2, 1000, 48000)],
)
def test_cut_in_place_keeps_exactly_the_range(tmp_path, channels, width, start, end):
    p = tmp_path / "c.wav"
    orig = make_capture(p, 48000, channels, width)
    layout = cut_in_place(p, start, end)
    data, _ = sf.read(p, dtype="int32", always_2d=True)
    # the start may move back by one frame (chunk alignment) or to 0 (too little room for headers)
    got_start = layout.data_offset
    assert data.shape[0] in (end - start, end - start + 1) or start * channels * width < 16
    np.testing.assert_array_equal(data[-(end - start) :], orig[start:end])
    assert layout.data_size == data.shape[0] * channels * width
    assert os.path.getsize(p) <= layout.data_offset + layout.data_size + 1  # no trailing junk
    assert got_start % 2 == 0


def test_cut_in_place_on_rf64(tmp_path):
    p = tmp_path / "r.wav"
    orig = make_capture(p, 20000, 2, 3, rf64_limit=1000)
    cut_in_place(p, 5000, 15000)
    with open(p, "rb") as f:
        assert f.read(4) == b"RF64"
    data, _ = sf.read(p, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(data, orig[5000:15000])


def test_copy_range_writes_a_new_file(tmp_path):
    p = tmp_path / "s.wav"
    orig = make_capture(p, 30000, 2, 2)
    out = tmp_path / "out.wav"
    copy_range(p, out, 1234, 29000)
    data, rate = sf.read(out, dtype="int32", always_2d=True)
    assert rate == 48000
    np.testing.assert_array_equal(data, orig[1234:29000])
    with pytest.raises(FileExistsError):
        copy_range(p, out, 0, 10)


def test_fallback_positioned_io_keeps_the_append_position(tmp_path, monkeypatch):
    """Where os.pread/os.pwrite are missing (Windows) the writer still appends correctly."""
    from trayrip.wav import fileio
    from trayrip.wav import layout as wavfile

    monkeypatch.setattr(wavfile, "pwrite", fileio._pwrite)
    monkeypatch.setattr(wavfile, "pread", fileio._pread)
    p = tmp_path / "w.wav"
    orig = make_capture(p, 5000)
    data, _ = sf.read(p, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(data, orig)
    buf = bytearray(10)
    fd = os.open(p, os.O_RDONLY)
    try:
        assert fileio._preadv(fd, [buf], 0) == 10 and bytes(buf[:4]) == b"RIFF"
    finally:
        os.close(fd)


def _reader_complaints(path) -> list[str]:
    """What sndfile-info, ffprobe, sox and Python's wave say about a WAV beyond reading it (should be nothing)."""
    import shutil
    import subprocess
    import wave

    said = []
    for tool in ("sndfile-info", "ffprobe", "sox"):
        assert shutil.which(tool), f"{tool} is missing (installer/debian-test-packages.txt)"
    info = subprocess.run(["sndfile-info", str(path)], capture_output=True, text=True).stdout
    said += [line for line in info.splitlines() if "denied" in line or "should be" in line or "rror" in line]
    probe = subprocess.run(["ffprobe", "-v", "warning", str(path)], capture_output=True, text=True)
    said += probe.stderr.splitlines()
    sox = subprocess.run(["sox", str(path), "-n", "stat"], capture_output=True, text=True)
    said += [line for line in sox.stderr.splitlines() if "WARN" in line or "FAIL" in line]
    with wave.open(str(path)) as w:
        assert w.getnframes() == sf.info(str(path)).frames
    return said


def test_a_long_lead_leaves_no_large_chunk_for_readers_to_skip(tmp_path):
    """sndfile-info said "Request for header allocation … denied" about the big JUNK of an O(1) trim."""
    p = tmp_path / "long.wav"
    orig = make_capture(p, 48000 * 10, 2, 2)
    layout = cut_in_place(p, 48000 * 5, 48000 * 9)
    data, _ = sf.read(p, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(data, orig[48000 * 5 : 48000 * 9])
    assert layout.data_offset < 3 * os.stat(p).st_blksize, "the dead lead was not taken out of the file"
    assert os.path.getsize(p) == layout.data_offset + layout.data_size
    assert _reader_complaints(p) == []


def test_without_block_removal_the_file_still_parses(tmp_path, monkeypatch):
    """Filesystems without FALLOC_FL_COLLAPSE_RANGE (tmpfs, Btrfs) keep the lead as JUNK chunks: still valid."""
    import trayrip.wav.edit as edit

    monkeypatch.setattr(edit, "collapse_range", lambda fd, off, length: False)
    p = tmp_path / "long.wav"
    orig = make_capture(p, 48000 * 10, 2, 2)
    layout = cut_in_place(p, 48000 * 5, 48000 * 9)
    data, _ = sf.read(p, dtype="int32", always_2d=True)
    np.testing.assert_array_equal(data, orig[48000 * 5 : 48000 * 9])
    assert layout.data_offset == 80 + 48000 * 5 * 4


def test_removable_chunk_without_st_blksize(monkeypatch, tmp_path):
    """Windows' os.stat_result has no st_blksize (found running under Wine): 4 KiB clusters are assumed."""
    import types

    from trayrip.wav import edit

    f = tmp_path / "x"
    f.write_bytes(b"\0" * 200_000)
    fd = os.open(f, os.O_RDONLY)
    try:
        monkeypatch.setattr(edit.os, "fstat", lambda fd: types.SimpleNamespace(st_size=200_000))
        off, length = edit._removable_chunk(fd, 100, 150_000)
    finally:
        monkeypatch.undo()
        os.close(fd)
    assert off % 4096 == 0 and length % 4096 == 0 and length > 0
