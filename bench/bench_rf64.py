"""Drive the real writer past 4 GiB and check soundfile and ffmpeg read the result.

Run: ``.venv/bin/python bench/bench_rf64.py`` (needs ~4.5 GB free under bench/out).
Prints the write rate against a plain ``os.write`` of the same bytes
(the baseline), the file size, and what each reader says.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from trayrip.capture.fake import FakeSource  # noqa: E402
from trayrip.recording.recorder import Recorder  # noqa: E402

RATE = 48000
TARGET = 4 * 2**30 + 64 * 2**20  # just past the 32-bit limit


def main() -> None:
    base = Path(__file__).resolve().parent / "out"
    base.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        t = np.arange(RATE) / RATE
        sig = np.repeat((0.25 * np.sin(2 * np.pi * 440 * t))[:, None], 2, axis=1)
        frames = TARGET // 4
        src = FakeSource(sig, RATE, speed=None, total_frames=frames, blocksize=RATE // 5)
        part = Path(tmp) / "big.wav.part"
        rec = Recorder(src, part, fill_gaps=False)
        t0 = time.perf_counter()
        rec.start()
        src.wait()
        result = rec.stop()
        ours = time.perf_counter() - t0
        size = part.stat().st_size
        chunk = bytes(4 * 2**20)
        plain = Path(tmp) / "plain.bin"
        t0 = time.perf_counter()
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT)
        for _ in range(size // len(chunk)):
            os.write(fd, chunk)
        os.fsync(fd)
        os.close(fd)
        baseline = time.perf_counter() - t0
        plain.unlink()
        with open(part, "rb") as f:
            magic = f.read(4)
        import soundfile as sf

        info = sf.info(part)
        probe = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", str(part)],
            capture_output=True, text=True,
        )
        print(f"wrote {size / 2**30:.2f} GiB ({result.frames / RATE / 3600:.2f} h at 48 kHz/16-bit stereo), header {magic.decode()}")
        print(f"trayrip writer {ours:.1f} s vs plain os.write {baseline:.1f} s: ratio {ours / baseline:.2f}")
        print(f"soundfile: {info.frames} frames ({info.format}), expected {result.frames}")
        print(f"ffprobe duration: {probe.stdout.strip() or probe.stderr.strip()} s, expected {result.frames / RATE:.3f}")


if __name__ == "__main__":
    main()
