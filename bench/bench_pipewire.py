#!/usr/bin/env python3
"""Continuity and CPU of recorders side by side on PipeWire, under load.

    .venv/bin/python bench/bench_pipewire.py                  # 180 s, two CPU hogs
    .venv/bin/python bench/bench_pipewire.py --seconds 60 --hogs 0

Starts the PipeWire flavour of the test harness (tests/harness.py:
pipewire + wireplumber + pipewire-pulse with a null sink as the default
sink), plays a signal with a mark every 250 ms (a one-sample spike over a
quiet 200 Hz tone) into the sink with paplay, and records the sink's
monitor at the same time, 48 kHz stereo 16-bit, with:

* ``trayrip``: ``trayrip record`` as it is (its default on PipeWire: a
  pw-record child),
* ``trayrip-parec``, ``trayrip-portaudio``: the same with ``TRAYRIP_CAPTURE``
  set to the other ways it can record (a parec child through pipewire-pulse,
  PortAudio -> ALSA pulse plugin -> pipewire-pulse),
* ``pw-record``: PipeWire's own recorder,
* ``parecord``: the PulseAudio client on pipewire-pulse,

while ``--hogs`` processes spin on the CPU. Every recording is searched for
the marks; an interval between consecutive marks that differs from 250 ms by
more than 2 ms is a discontinuity (a skip shortens it, an inserted silence
lengthens it); a mark missing altogether is counted apart (a playback
glitch shows as one in every recorder). Discontinuities are told apart by
the played mark they follow, so "own" counts those that pw-record
(recording at the same time) does not also have, as the goal is stated. CPU is utime + stime from /proc over the steady middle
of the run (trayrip: its process plus its recorder child; "(child)" is the
child's part), and its ratio to pw-record's.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

from harness import Harness  # noqa: E402

RATE = 48000
PERIOD = RATE // 4  # a mark every 250 ms
TOL = int(0.002 * RATE)  # 2 ms
CLK_TCK = os.sysconf("SC_CLK_TCK")


def write_marks(path: Path, seconds: float) -> int:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    x = 0.05 * np.sin(2 * np.pi * 200 * t)
    marks = np.arange(PERIOD, n - PERIOD, PERIOD)
    x[marks] = 0.9
    sf.write(path, np.stack([x, x], axis=1).astype(np.float32), RATE, subtype="PCM_16")
    return len(marks)


def find_marks(path: Path) -> np.ndarray:
    if path.suffix == ".raw":
        data = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768
        data = data[: len(data) // 2 * 2].reshape(-1, 2)
    else:
        data, _ = sf.read(path, dtype="float32", always_2d=True)
    x = data[:, 0]
    idx = np.flatnonzero(x > 0.5)
    if len(idx) == 0:
        return idx
    keep = np.concatenate(([True], np.diff(idx) > 10))
    return idx[keep]


def discontinuities(marks: np.ndarray) -> tuple[list[tuple[int, float, float]], int]:
    """(played mark number, time s, error ms) of each interval off by more
    than 2 ms, and how many marks went missing.

    Each mark is numbered from its predecessor (a skip of a few ms does not
    change the count), so recorders that lose different things still agree
    on which played mark a discontinuity follows.
    """
    out, missing, n = [], 0, 0
    for a, b in zip(marks[:-1], marks[1:]):
        step = max(1, round((b - a) / PERIOD))
        err = (b - a) - step * PERIOD
        if abs(err) > TOL:
            out.append((n, a / RATE, err / RATE * 1000))
        missing += step - 1
        n += step
    return out, missing


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def child_pids(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
            except OSError:
                pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=180)
    ap.add_argument("--hogs", type=int, default=2)
    ap.add_argument("--skip", action="append", default=[], help="a recorder to leave out")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every discontinuity")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="trayrip-bench-pw-"))
    signal_path = work / "marks.wav"
    n_marks = write_marks(signal_path, args.seconds + 2)
    h = Harness(server="pipewire").start()
    procs: dict[str, subprocess.Popen] = {}
    hogs = []
    try:
        env = dict(h.env, HOME=str(work))
        fmt = ["--rate", str(RATE), "--channels", "2"]
        def trayrip(name: str, tool: str | None) -> tuple[list[str], dict[str, str]]:
            e = dict(env, PYTHONPATH=str(ROOT))
            if tool:
                e["TRAYRIP_CAPTURE"] = tool
            return [sys.executable, "-m", "trayrip", "record", "-q", "--no-trim", "-o", str(work / f"{name}.wav")], e

        cmds = {
            "trayrip": trayrip("trayrip", None),
            "trayrip-parec": trayrip("trayrip-parec", "parec"),
            "trayrip-portaudio": trayrip("trayrip-portaudio", "portaudio"),
            "pw-record": (["pw-record", "--format", "s16", *fmt, "-P", "{ stream.capture.sink=true }",
                           "--target", h.sink, str(work / "pw-record.wav")], env),
            "parecord": (["parecord", f"--device={h.monitor}", "--format=s16le", *fmt, "--file-format=wav",
                          str(work / "parecord.wav")], env),
        }
        for name, (argv, e) in cmds.items():
            if name in args.skip:
                continue
            procs[name] = subprocess.Popen(argv, env=e, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                           stderr=open(work / f"{name}.log", "wb"), start_new_session=True)
        time.sleep(3)  # all connected
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.hogs)]
        player = h.play(signal_path, wait=False, timeout=args.seconds + 60)
        time.sleep(5)
        pids = {name: [p.pid, *child_pids(p.pid)] for name, p in procs.items()}
        kids = {name: child_pids(p.pid) for name, p in procs.items()}
        load0 = os.getloadavg()[0]
        c0 = {name: cpu_seconds(p) for name, p in pids.items()}
        k0 = {name: cpu_seconds(p) for name, p in kids.items()}
        t0 = time.monotonic()
        time.sleep(max(1.0, args.seconds - 10))
        c1 = {name: cpu_seconds(p) for name, p in pids.items()}
        k1 = {name: cpu_seconds(p) for name, p in kids.items()}
        wall = time.monotonic() - t0
        load1 = os.getloadavg()[0]
        player.wait(args.seconds + 60)
        time.sleep(1)
    finally:
        for hog in hogs:
            hog.kill()
        for name, p in procs.items():
            p.send_signal(signal.SIGINT)
        for p in procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        h.stop()

    results = {}
    for name in procs:
        files = list(work.glob(f"{name}.wav"))
        marks = find_marks(files[0]) if files else np.array([])
        results[name] = marks
    # a mark missing from every recording is the player's underrun (nobody's fault here)
    print(f"{args.seconds:.0f} s, {args.hogs} CPU hogs, load average {load0:.1f}-{load1:.1f}, "
          f"{n_marks} marks played every 250 ms")
    reference = set()
    if "pw-record" in results:
        reference = {k + d for k, _, _ in discontinuities(results["pw-record"])[0] for d in (-1, 0, 1)}
    print(f"{'recorder':<18} {'marks':>6} {'missing':>7} {'discont. >2 ms':>15} {'own':>4} {'CPU % of a core':>16}"
          f" {'x pw-record':>11} {'(child)':>8}")
    base = None
    if "pw-record" in c1:
        base = 100 * (c1["pw-record"] - c0["pw-record"]) / wall
    for name, marks in results.items():
        disc, missing = discontinuities(marks)
        own = [d for d in disc if d[0] not in reference]
        cpu = 100 * (c1[name] - c0[name]) / wall
        ratio = f"{cpu / base:.2f}x" if base else "-"
        child = f"{100 * (k1[name] - k0[name]) / wall:.2f}%" if kids[name] else ""
        print(f"{name:<18} {len(marks):>6} {missing:>7} {len(disc):>15} {len(own):>4} {cpu:>15.2f}%"
              f" {ratio:>11} {child:>8}")
        if args.verbose:
            for k, at_s, err in disc:
                print(f"{'':<20}after mark {k} ({at_s:7.2f} s): {err:+.1f} ms")
    print(f"(files in {work})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
