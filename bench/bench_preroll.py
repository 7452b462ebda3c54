#!/usr/bin/env python3
"""What pre-roll costs: idle CPU of the tray app with it on and off, beside a bare capture stream; RSS over an hour.

    .venv/bin/python bench/bench_preroll.py                  # 60 s CPU window, 1 h of pre-roll for RSS
    .venv/bin/python bench/bench_preroll.py --seconds 20 --rss-minutes 10

1. CPU (the test harness: Xvfb + trayer + PulseAudio null sink, tests/harness.py).
   Three processes idle side by side over the same wall-clock window, each
   with its own HOME, read from ``/proc/<pid>/stat`` (utime + stime, all
   threads):
   * ``trayrip`` (tray app) with ``preroll_seconds = 0`` -- nothing open while idle;
   * ``trayrip`` (tray app) with ``preroll_seconds = 30`` -- the loopback
     stream open, the last 30 s kept in the ring;
   * a *bare capture stream*: the same PortAudio stream (trayrip's
     PortAudioSource on the default sink's monitor) whose sink drops every
     block -- what keeping a stream open costs before anything is done with it.
   Goal (issue 12): pre-roll <= 1 % of a core at 48 kHz stereo and <= 2x the bare stream.
2. RSS: a SharedStream holding the maximum 120 s, fed by the fake source
   faster than real time (``--speed``, default 30x) for ``--rss-minutes`` of
   stream time (default 60), with a "Save last N seconds" snapshot every
   5 minutes; RSS of this process is sampled each stream minute.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from harness import Harness, wait_until  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")

BARE_STREAM = textwrap.dedent(
    """
    import signal, sys, threading
    from trayrip.api import RecordingOptions, open_default_source
    src = open_default_source(RecordingOptions())
    sys.stderr.write(f"bare stream: {src.description} {src.format.describe()}\\n")
    sys.stderr.flush()
    src.start(lambda block: True)   # the callback wraps the block and drops it
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    done.wait()
    src.stop()
    """
)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def log_text(home: Path) -> str:
    logs = sorted(home.rglob("trayrip.log"))
    return logs[0].read_text(errors="replace") if logs else ""


def measure_cpu(seconds: float, settle: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="trayrip-bench-preroll-"))
    h = Harness().start()
    procs: list[subprocess.Popen] = []
    try:
        base = {k: v for k, v in h.env.items() if not k.startswith("XDG_") or k in ("XDG_RUNTIME_DIR", "XDG_SESSION_TYPE")}
        base["PYTHONPATH"] = str(ROOT)
        pids = {}
        homes = {}
        for name, preroll in (("tray app, pre-roll off", 0), ("tray app, pre-roll 30 s", 30)):
            home = work / name.replace(" ", "_").replace(",", "")
            (home / ".config" / "trayrip").mkdir(parents=True)
            (home / ".config" / "trayrip" / "config.toml").write_text(f"preroll_seconds = {preroll}\n")
            run = home / "run"  # its own runtime folder: one trayrip instance per runtime folder
            run.mkdir(mode=0o700)
            p = subprocess.Popen([sys.executable, "-m", "trayrip"], env=dict(base, HOME=str(home), XDG_RUNTIME_DIR=str(run)),
                                 stdout=subprocess.DEVNULL, stderr=open(work / f"{home.name}.stderr", "w"))
            procs.append(p)
            pids[name] = p.pid
            homes[name] = home
        bare_err = work / "bare.stderr"
        bare = subprocess.Popen([sys.executable, "-c", BARE_STREAM], env=dict(base, HOME=str(work)),
                                stdout=subprocess.DEVNULL, stderr=open(bare_err, "w"))
        procs.append(bare)
        pids["bare capture stream"] = bare.pid
        for name, home in homes.items():
            wait_until(lambda: "trayrip is running" in log_text(home), 30, f"{name} start-up")
        on = homes["tray app, pre-roll 30 s"]
        wait_until(lambda: "pre-roll: audio flowing" in log_text(on), 30, "pre-roll audio flowing")
        wait_until(lambda: "bare stream:" in bare_err.read_text(), 30, "the bare stream")
        time.sleep(settle)  # start-up work (PortAudio warm-up, device scan) settles
        keeping = [line for line in log_text(on).splitlines() if "pre-roll: keeping" in line]
        print(keeping[-1].split(": ", 1)[-1] if keeping else "?")
        print(bare_err.read_text().strip())
        t0 = time.monotonic()
        c0 = {k: cpu_seconds(p) for k, p in pids.items()}
        time.sleep(seconds)
        wall = time.monotonic() - t0
        pct = {k: 100.0 * (cpu_seconds(p) - c0[k]) / wall for k, p in pids.items()}
        print(f"\nidle CPU over {wall:.0f} s (% of one core, /proc/<pid>/stat):")
        for k, v in pct.items():
            print(f"  {k:28s} {v:7.3f} %")
        bare_pct = pct["bare capture stream"]
        on_pct = pct["tray app, pre-roll 30 s"]
        print(f"  pre-roll on / bare stream: {on_pct / bare_pct:.2f}x" if bare_pct > 0 else "  bare stream: 0")
        print("  goals: pre-roll <= 1 % of a core, <= 2x the bare stream; pre-roll off: 0")
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        h.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure_rss(minutes: float, speed: float, save_every: float) -> None:
    from trayrip.capture.fake import FakeSource
    from trayrip.recording.preroll import SharedStream

    rate = 48000
    t = np.arange(rate * 7) / rate  # 7 s of a varying signal, looped
    sig = (0.3 * np.sin(2 * np.pi * 440 * t) * np.sin(2 * np.pi * 0.3 * t)).astype(np.float32)
    total = int(minutes * 60 * rate)
    src = FakeSource(np.stack([sig, sig], axis=1), rate, speed=speed, blocksize=1920, total_frames=total)
    stream = SharedStream(src, 120).start()
    samples = []
    saved = 0
    next_minute, next_save = 1, save_every or float("inf")
    start_cpu = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    try:
        while not src.wait(0.05):
            minute = src.delivered / rate / 60
            if minute >= next_minute:
                samples.append((next_minute, rss_mb()))
                next_minute += 1
            if minute >= next_save:
                saved += len(stream.snapshot())  # "Save last N seconds": a copy, dropped at once here
                next_save += save_every
        samples.append((round(src.delivered / rate / 60, 1), rss_mb()))
    finally:
        stream.close()
    wall = time.monotonic() - t0
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime + used.ru_stime - start_cpu.ru_utime - start_cpu.ru_stime
    what = f"a 'Save last N seconds' copy every {save_every:g} min" if save_every else "no saves"
    print(f"\nRSS with 120 s of pre-roll (ring {stream.memory_bytes / 1e6:.1f} MB), {minutes:g} min of 48 kHz stereo, "
          f"{what}, fake source at {speed:g}x real time ({wall:.0f} s wall, {cpu:.1f} s CPU):")
    print("  " + ", ".join(f"min {m}: {r:.1f} MB" for m, r in samples if m in (1, 5, 10, 30, 60) or m == samples[-1][0]))
    first = samples[0][1]
    print(f"  growth from minute 1 to the end: {samples[-1][1] - first:+.1f} MB; max {max(r for _, r in samples):.1f} MB; "
          f"frames dropped: {stream.dropped_frames}; {saved / 1e6:.0f} MB copied out by saves")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="CPU window (default 60)")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after start-up before measuring")
    parser.add_argument("--rss-minutes", type=float, default=60.0, help="stream minutes of pre-roll for RSS")
    parser.add_argument("--speed", type=float, default=30.0, help="fake source speed for the RSS run")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    if not args.skip_cpu:
        measure_cpu(args.seconds, args.settle)
    if not args.skip_rss:
        measure_rss(args.rss_minutes, args.speed, 0)
        measure_rss(args.rss_minutes, args.speed, 5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
