"""Capture-engine benchmarks: memory while recording, and stop -> filed time.

Run: ``.venv/bin/python bench/bench_engine.py [--minutes 60]``

Both compare trayrip with a baseline measured in the same run, so the ratio
means something on a noisy machine:

* memory: RSS at minute 1 and at the last minute of an hour of 44.1 kHz/16-bit
  stereo from the fake source (faster than real time), against the seed
  blog post's approach (every block kept in a list until the end);
* stop -> filed: the time from "stop" to the trimmed file being in its folder,
  for a 1-minute and an N-minute recording, against the naive streaming
  approach (copy the kept range into a new file).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RATE = 44100


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def music_loop() -> np.ndarray:
    """Ten seconds of tone + noise, looped by the fake source."""
    t = np.arange(RATE * 10) / RATE
    rng = np.random.default_rng(1)
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.shape)
    return np.repeat(x[:, None], 2, axis=1).astype(np.float32)


def child_trayrip_memory(minutes: float, folder: str) -> dict:
    from trayrip.capture.fake import FakeSource
    from trayrip.recording.recorder import Recorder

    total = int(minutes * 60 * RATE)
    src = FakeSource(music_loop(), RATE, speed=None, total_frames=total, blocksize=RATE // 25)
    rec = Recorder(src, Path(folder) / "mem.wav.part")
    rec.start()
    marks = {}
    while not src.wait(0.05):
        elapsed = rec.status().elapsed
        if "1" not in marks and elapsed >= 60:
            marks["1"] = rss_mb()
    marks["end"] = rss_mb()
    result = rec.stop()
    os.unlink(result.part)
    return {"rss_min1": marks.get("1", marks["end"]), "rss_end": marks["end"], "frames": result.frames}


def child_seed_memory(minutes: float) -> dict:
    """The seed's loop: frames.append(stream.read(chunk)) for the whole recording."""
    loop = music_loop()
    pcm = (loop * 32767).astype("<i2").tobytes()
    chunk_bytes = 4096 * 4
    total = int(minutes * 60 * RATE) * 4
    frames, pos, marks = [], 0, {}
    while pos < total:
        start = pos % (len(pcm) - chunk_bytes)
        frames.append(pcm[start : start + chunk_bytes])  # a new bytes object, as stream.read returns
        pos += chunk_bytes
        if "1" not in marks and pos >= 60 * RATE * 4:
            marks["1"] = rss_mb()
    marks["end"] = rss_mb()
    return {"rss_min1": marks["1"], "rss_end": marks["end"], "blocks": len(frames)}


def run_child(kind: str, minutes: float, folder: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--minutes", str(minutes), "--folder", folder],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_capture(folder: Path, minutes: float) -> tuple[Path, tuple[int, int]]:
    """A closed capture file as the recorder leaves it, with 2 s of silence at each end."""
    from trayrip.capture.base import AudioFormat
    from trayrip.filing.finish import new_part_path
    from trayrip.recording.writer import WavWriter

    part = new_part_path(folder)
    w = WavWriter(part, AudioFormat(RATE, 2, 2), sync_interval=1e9)
    silence = bytes(2 * RATE * 4)
    loop = (music_loop() * 32767).astype("<i2").tobytes()
    w.write(silence)
    remaining = int(minutes * 60 * RATE) * 4
    while remaining > 0:
        piece = loop[: min(len(loop), remaining)]
        w.write(piece)
        remaining -= len(piece)
    w.write(silence)
    w.close()
    start = 2 * RATE - RATE // 10
    return part, (start, w.frames - 2 * RATE + int(0.3 * RATE))


def bench_stop(folder: Path, minutes: float) -> dict:
    from trayrip.filing.finish import finish_wav
    from trayrip.wav.edit import copy_range

    part, keep = make_capture(folder, minutes)
    os.sync()
    t0 = time.perf_counter()
    filed = finish_wav(part, keep, folder=folder, stem=f"trayrip-{minutes}")
    ours = time.perf_counter() - t0
    part2, keep2 = make_capture(folder, minutes)
    os.sync()
    t0 = time.perf_counter()
    copy_range(part2, folder / f"copy-{minutes}.wav", *keep2)
    naive = time.perf_counter() - t0
    size = filed.path.stat().st_size
    for p in (filed.path, part2, folder / f"copy-{minutes}.wav"):
        p.unlink()
    return {"minutes": minutes, "ours_ms": ours * 1000, "copy_ms": naive * 1000, "mb": size / 1e6}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the long recording (default 60)")
    ap.add_argument("--folder", default=None, help="scratch folder (default: a temp dir under bench/out)")
    ap.add_argument("--child", choices=("trayrip", "seed"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "trayrip":
        print(json.dumps(child_trayrip_memory(args.minutes, args.folder)))
        return
    if args.child == "seed":
        print(json.dumps(child_seed_memory(args.minutes)))
        return
    base = Path(__file__).resolve().parent / "out"
    base.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.folder or base) as tmp:
        print(f"# memory while recording {args.minutes:g} min of 44.1 kHz/16-bit stereo (fake source, faster than real time)")
        t0 = time.perf_counter()
        ours = run_child("trayrip", args.minutes, tmp)
        t_ours = time.perf_counter() - t0
        seed = run_child("seed", args.minutes, tmp)
        grow_ours = ours["rss_end"] - ours["rss_min1"]
        grow_seed = seed["rss_end"] - seed["rss_min1"]
        print(f"{'':10} {'RSS min 1':>10} {'RSS end':>10} {'growth':>10}")
        print(f"{'trayrip':10} {ours['rss_min1']:9.1f}M {ours['rss_end']:9.1f}M {grow_ours:9.1f}M  ({args.minutes * 60 / t_ours:.0f}x real time)")
        print(f"{'seed':10} {seed['rss_min1']:9.1f}M {seed['rss_end']:9.1f}M {grow_seed:9.1f}M")
        print(f"growth ratio seed/trayrip: {grow_seed / max(grow_ours, 0.1):.0f}x (trayrip growth floored at 0.1 MB)")
        print()
        print("# stop -> filed (trim + name + move), against copying the kept range")
        print(f"{'minutes':>8} {'file MB':>8} {'trayrip ms':>11} {'copy ms':>9} {'ratio':>7}")
        for minutes in (1.0, args.minutes):
            r = bench_stop(Path(tmp), minutes)
            print(f"{r['minutes']:8g} {r['mb']:8.0f} {r['ours_ms']:11.2f} {r['copy_ms']:9.1f} {r['copy_ms'] / r['ours_ms']:6.0f}x")


if __name__ == "__main__":
    main()
