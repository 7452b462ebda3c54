"""Driving the real `trayrip record` (subprocess) or a Recording (in process) from system tests."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness import wait_until


def start_record(env, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trayrip", "record", "--quiet", *args],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 30) -> Path:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"trayrip record failed ({proc.returncode}):\n{err}"
    assert "Traceback" not in err
    path = Path(out.strip().splitlines()[-1])
    assert path.is_file(), out
    return path


def wait_for_capture_file(folder: Path, timeout: float = 10) -> None:
    """Wait until audio flows into the hidden capture file.

    A new stream on an idle null sink's monitor gets nothing for 1-2 s, and
    sound played in that time reaches it late or clipped: a PulseAudio
    property (see README), not something a recording test should race.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list(folder.glob(".trayrip-*.wav.part"))
        if parts and parts[0].stat().st_size > 80 + 4 * 1920:
            return
        time.sleep(0.02)
    raise AssertionError(f"trayrip never started capturing into {folder}")


def wait_for_more_audio(proc: subprocess.Popen, folder: Path, what: str, timeout: float = 20,
                        more: int = 48000) -> None:
    """Wait until the running `trayrip record` ``proc`` writes ``more`` bytes beyond what its capture file holds
    now (audio flows again after a restart or a stall); fails at once with its stderr if it ended."""
    part = next(folder.glob(".trayrip-*.wav.part"))
    size = part.stat().st_size

    def grown() -> bool:
        assert proc.poll() is None, proc.communicate()[1]
        return part.stat().st_size > size + more

    wait_until(grown, timeout, what, 0.05)


def wait_for_audio(rec, timeout: float = 10) -> None:
    """In-process variant of wait_for_capture_file."""
    deadline = time.monotonic() + timeout
    while rec.status().bytes_written == 0:
        assert time.monotonic() < deadline, "no audio arrived from the monitor"
        time.sleep(0.02)
