"""A full disk stops the capture cleanly: the file holds everything written, the user is told."""
from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
import soundfile as sf

import trayrip
from trayrip.api import RecordingFailed
from trayrip.capture.fake import FakeSource


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MiB tmpfs (the suite runs as root in CI; elsewhere this fails loudly, never skips)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(mnt)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a small tmpfs for the disk-full test (needs root): {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_files_what_fits_and_says_so(small_disk):
    t = np.arange(48000 * 30) / 48000
    sig = np.repeat((0.3 * np.sin(2 * np.pi * 700 * t))[:, None], 2, axis=1)
    with pytest.raises(RecordingFailed, match="disk holding .* is full") as info:
        trayrip.record(30, source=FakeSource(sig, 48000, speed=None), folder=small_disk)
    filed = info.value.filed
    assert filed is not None and filed.path.parent == small_disk
    data, rate = sf.read(filed.path)
    # about 2 MiB of 192 kB/s audio fitted; all of it is in a valid file
    assert 5.0 < len(data) / rate < 11.0
    assert len(data) == filed.frames
    assert os.path.getsize(filed.path) <= 2 * 2**20
    assert abs(np.abs(data[4800:-4800]).max() - 0.3) < 0.01
    assert [p.name for p in small_disk.iterdir()] == [filed.path.name]  # no partial garbage left


def test_disk_full_without_trim_cuts_the_failed_write_back_to_whole_frames(small_disk):
    """With --no-trim nothing truncates the tail afterwards, so the writer's own cut-back must hold."""
    from trayrip.wav.layout import read_layout

    t = np.arange(48000 * 30) / 48000
    sig = np.repeat((0.3 * np.sin(2 * np.pi * 700 * t))[:, None], 5, axis=1)
    # 5 channels of 16 bit: 10-byte frames, so a write cut short at the tmpfs's page boundary tears a frame
    with pytest.raises(RecordingFailed, match="disk holding .* is full") as info:
        trayrip.record(30, source=FakeSource(sig, 48000, speed=None, blocksize=1001), folder=small_disk, trim=False)
    filed = info.value.filed
    assert filed is not None
    with open(filed.path, "rb") as f:
        layout = read_layout(f.fileno())
    assert layout.data_size % 10 == 0 and layout.data_size // 10 == filed.frames
    with open(filed.path, "rb") as f:  # after the samples only whole chunks (the LIST/INFO tags)
        f.seek(layout.data_offset + layout.data_size)
        rest = f.read()
    while rest:
        assert rest[:4] in (b"LIST", b"id3 ", b"JUNK"), rest[:16]
        n = 8 + int.from_bytes(rest[4:8], "little")
        rest = rest[n + (n & 1):]
    data, rate = sf.read(filed.path)
    assert len(data) == filed.frames and 1.5 < len(data) / rate < 5.0
    assert abs(np.abs(data).max() - 0.3) < 0.01  # untrimmed: the tone from the first frame


def test_writer_cuts_a_torn_frame_off_the_capture_file_at_once(small_disk):
    """What a crash right after the failed write would leave: header + whole frames, nothing else."""
    from trayrip.capture.base import AudioFormat
    from trayrip.errors import FilingError
    from trayrip.recording.writer import WavWriter

    fmt = AudioFormat(48000, 5, 2)  # 10-byte frames never line up with the tmpfs's 4 KiB pages
    w = WavWriter(small_disk / "c.wav", fmt)
    block = b"\x01\x02" * 5 * 1001
    with pytest.raises(FilingError, match="is full"):
        for _ in range(1000):
            w.write(block)
    assert w.data_bytes % fmt.bytes_per_frame == 0 and w.data_bytes > 0
    assert os.path.getsize(w.path) == w._layout.data_offset + w.data_bytes
    w.abort()
