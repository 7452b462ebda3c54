"""ReplayGain while recording: what the loudness meter costs.

Run: ``.venv/bin/python bench/bench_loudness.py [--minutes 60] [--realtime 60]``

Each figure is measured with the meter on and off in the same run, each in a
fresh process, so the ratio means something on a noisy machine:

* CPU while recording: the process CPU time (user + system) of a recording
  from the fake source delivering 40 ms blocks of 48 kHz/16-bit stereo in
  real time for ``--realtime`` seconds, as the PortAudio callback does (the
  recorder batches them, ≤ 0.2 s per write and analysis);
* CPU per second of audio: the same recorder fed faster than real time
  (``--minutes`` of audio), the meter's share of the recorder's work;
* memory: RSS at minute 1 and at the end of ``--minutes`` of audio;
* stop -> filed: stop + filing a WAV (trim, tags, name) with ReplayGain on
  and off; the tags come from the meter, so the time must not grow.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RATE = 48000


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def music_loop() -> np.ndarray:
    """Ten seconds of tone + noise whose level sweeps, looped by the fake source (silence 1 s in 10)."""
    t = np.arange(RATE * 10) / RATE
    rng = np.random.default_rng(1)
    level = 0.2 + 0.15 * np.sin(2 * np.pi * t / 10)
    x = level * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.shape)
    x[: RATE] = 0.0
    return np.repeat(x[:, None], 2, axis=1).astype(np.float32)


def child(kind: str, seconds: float, folder: str, loudness: bool) -> dict:
    """One recording in this fresh process; returns CPU, RSS and stop -> filed figures."""
    import trayrip  # noqa: F401 - imports paid before the measurement, as in the tray app
    from trayrip.capture.fake import FakeSource
    from trayrip.filing.finish import FilingPlan, file_recording
    from trayrip.recording.recorder import Recorder

    total = int(seconds * RATE)
    realtime = kind == "realtime"
    src = FakeSource(music_loop(), RATE, speed=1.0 if realtime else None, total_frames=total, blocksize=RATE // 25)
    rec = Recorder(src, Path(folder) / f"bench-{os.getpid()}.wav.part", loudness=loudness)
    if loudness:  # the meter's one-time set-up (the filter kernel) happens at the first block: not in the figures
        from trayrip.recording.loudness import LoudnessMeter

        LoudnessMeter(RATE, 2).feed(bytes(RATE * 4))
    marks = {}
    c0, t0 = cpu_s(), time.perf_counter()
    rec.start()
    while not src.wait(0.05):
        if "min1" not in marks and rec.status().elapsed >= 60:
            marks["min1"] = rss_mb()
    c1, t1 = cpu_s(), time.perf_counter()
    marks["end"] = rss_mb()
    s0 = time.perf_counter()
    result = rec.stop()
    rec.release()
    filed = file_recording(result.part, keep=result.trim_range, plan=FilingPlan(replaygain=loudness),
                           folder=Path(folder), loudness=result.loudness)
    stop_ms = (time.perf_counter() - s0) * 1000
    os.unlink(filed.path)
    return {"cpu_s": c1 - c0, "wall_s": t1 - t0, "audio_s": result.frames / RATE, "rss_min1": marks.get("min1", marks["end"]),
            "rss_end": marks["end"], "stop_ms": stop_ms,
            "lufs": None if result.loudness is None else result.loudness.lufs}


def run_child(kind: str, seconds: float, folder: str, loudness: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, "--seconds", str(seconds), "--folder", folder]
                         + ([] if loudness else ["--off"]), capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0, help="audio for the memory/CPU-per-second run (default 60)")
    ap.add_argument("--realtime", type=float, default=60.0, help="seconds of the real-time CPU run (default 60)")
    ap.add_argument("--repeat", type=int, default=3, help="real-time runs of each, alternating (default 3)")
    ap.add_argument("--folder", default=None, help="scratch folder (default: a temp dir under bench/out)")
    ap.add_argument("--child", choices=("realtime", "fast"), help=argparse.SUPPRESS)
    ap.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--off", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.seconds, args.folder, not args.off)))
        return
    base = Path(__file__).resolve().parent / "out"
    base.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.folder or base) as tmp:
        print(f"# real time: {args.realtime:g} s of 48 kHz/16-bit stereo in 40 ms blocks, process CPU "
              f"({args.repeat} runs each, alternating)")
        ons, offs = [], []
        for i in range(args.repeat):
            on = run_child("realtime", args.realtime, tmp, True)
            off = run_child("realtime", args.realtime, tmp, False)
            ons.append(100 * on["cpu_s"] / on["wall_s"])
            offs.append(100 * off["cpu_s"] / off["wall_s"])
            print(f"run {i + 1}: meter off {offs[-1]:.3f} % of a core, on {ons[-1]:.3f} %")
        on_m, off_m = float(np.median(ons)), float(np.median(offs))
        print(f"median: off {off_m:.3f} %, on {on_m:.3f} %: the meter adds {on_m - off_m:.3f} % of a core, "
              f"{100 * (on_m - off_m) / off_m:+.1f} % of the recording's own")
        print(f"\n# faster than real time: {args.minutes:g} min of audio")
        on = run_child("fast", args.minutes * 60, tmp, True)
        off = run_child("fast", args.minutes * 60, tmp, False)
        per_s = (on["cpu_s"] - off["cpu_s"]) / on["audio_s"] * 1000
        print(f"CPU per second of audio: off {off['cpu_s'] / off['audio_s'] * 1000:.2f} ms, on "
              f"{on['cpu_s'] / on['audio_s'] * 1000:.2f} ms (the meter: {per_s:.2f} ms, "
              f"{100 * per_s / 1000:.3f} % of a core in real time)")
        print(f"{'':10} {'RSS min 1':>10} {'RSS end':>10} {'growth':>8} {'stop->filed':>12} {'LUFS':>8}")
        for name, r in (("meter on", on), ("meter off", off)):
            lufs = "-" if r["lufs"] is None else f"{r['lufs']:.2f}"
            print(f"{name:10} {r['rss_min1']:9.1f}M {r['rss_end']:9.1f}M {r['rss_end'] - r['rss_min1']:7.1f}M "
                  f"{r['stop_ms']:10.1f}ms {lufs:>8}")


if __name__ == "__main__":
    main()
