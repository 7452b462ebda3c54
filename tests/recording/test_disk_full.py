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
