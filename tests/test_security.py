"""No shell=True anywhere; files created with the user's own permissions."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

import trayrip
from trayrip.capture.fake import FakeSource

ROOT = Path(__file__).resolve().parent.parent


def test_no_shell_true_in_the_package_bench_or_installer():
    pattern = re.compile(r"shell\s*=\s*True")
    offenders = []
    for folder in ("trayrip", "bench", "installer"):
        for path in (ROOT / folder).rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert offenders == []


@pytest.mark.parametrize("umask,expected", [(0o022, 0o644), (0o077, 0o600), (0o000, 0o664)])
@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_recordings_follow_the_umask_and_are_never_world_writable(tmp_path, umask, expected, fmt):
    old = os.umask(umask)
    try:
        sig = np.full((4800, 2), 0.2, np.float32)
        path = trayrip.record(0.1, source=FakeSource(sig, 48000, speed=None), folder=tmp_path / "out", trim=False, format=fmt)
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == expected
    assert (tmp_path / "out").stat().st_mode & 0o002 == 0
