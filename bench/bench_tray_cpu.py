#!/usr/bin/env python3
"""CPU use of the running tray app (idle and recording) and hotkey latency, in the test harness.

    .venv/bin/python bench/bench_tray_cpu.py                 # 60 s idle + 60 s recording, 50 presses
    .venv/bin/python bench/bench_tray_cpu.py --latency-only --presses 100
    .venv/bin/python bench/bench_tray_cpu.py --seconds 20 --presses 5
    .venv/bin/python bench/bench_tray_cpu.py --latency-only --presses 20 --mode app --server pipewire

Starts the harness desktop (Xvfb + trayer + dunst + PulseAudio null sink,
tests/harness.py), then the real ``python -m trayrip`` with HOME in a
temporary folder, and beside it a *baseline*: a plain pystray icon (same
backend, same Python, a static image, no trayrip logic) in the same tray.
CPU time is read from ``/proc/<pid>/stat`` (utime + stime, all threads) over
the same wall-clock window for both, so the ratio shows what trayrip adds
over "an icon in the tray".

1. idle: nothing happens for ``--seconds``;
2. recording: the global hotkey (xdotool) starts a 48 kHz stereo recording
   while a tone plays into the null sink, for ``--seconds``; its level sweeps
   so the icon's meter keeps changing (the tray's worst case); then it stops;
3. latency: ``--presses`` hotkey presses, each timed from just before
   ``xdotool key`` to the "capture running at <time>" line trayrip logs (the
   stream is open), plus trayrip's own figure from its hotkey callback and
   where that went (queue, folder, choosing the source, opening the stream).

``--mode`` says what the presses record (issue 20, defect 8): ``all`` (all
system audio, the default), ``app`` (one application: a paplay client named
"BenchApp" plays meanwhile, the config says ``app = 'BenchApp'``) or
``preroll`` (all audio with a 10 s pre-roll kept warm). ``--server`` picks the
harness's sound server (pulseaudio or pipewire).

Goals (issue 3): idle <= 0.2 % of a core, recording <= 2 %, latency <= 100 ms.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
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

import audio_tools as at  # noqa: E402
from harness import Harness, wait_until  # noqa: E402
from trayrip.hotkey_syntax import DEFAULT_HOTKEY, xdotool_keys  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
CAPTURE_RUNNING = re.compile(r"capture running at (\d+\.\d+), ([\d.]+) ms after the command(?: \(([^)]*)\))?")
PHASE = re.compile(r"([a-z+]+) ([\d.]+) ms")

BASELINE_ICON = textwrap.dedent(
    """
    import pystray
    from PIL import Image, ImageDraw
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((4, 4, 60, 60), fill=(90, 90, 90, 255))
    pystray.Icon("baseline", img, "baseline", menu=pystray.Menu(pystray.MenuItem("Quit", lambda i: i.stop()))).run()
    """
)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_seconds(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1: raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def measure(pids: dict[str, int], seconds: float) -> tuple[dict[str, float], dict[str, float]]:
    """CPU % of one core per process over ``seconds``, and trayrip's per-thread split."""
    t0 = time.monotonic()
    c0 = {k: cpu_seconds(p) for k, p in pids.items()}
    th0 = thread_seconds(pids["trayrip"])
    time.sleep(seconds)
    wall = time.monotonic() - t0
    c1 = {k: cpu_seconds(p) for k, p in pids.items()}
    th1 = thread_seconds(pids["trayrip"])
    pct = {k: 100.0 * (c1[k] - c0[k]) / wall for k in pids}
    threads = {k: 100.0 * (v - th0.get(k, 0.0)) / wall for k, v in th1.items()}
    return pct, threads


def log_text(home: Path) -> str:
    logs = sorted(home.rglob("trayrip.log"))
    return logs[0].read_text(errors="replace") if logs else ""


KEY_DELAY_MS = 0  # --key-delay


def press(h: Harness) -> None:
    """The hotkey, its keys sent ``KEY_DELAY_MS`` apart (xdotool's own default is 12 ms: 6 ms between the
    chord's key-downs, so the combination was complete only ~18 ms after xdotool started)."""
    h.xdotool("key", "--delay", str(KEY_DELAY_MS), xdotool_keys(DEFAULT_HOTKEY))


def press_and_time(h: Harness, home: Path, count_before: int) -> tuple[float, float, dict[str, float]]:
    """(xdotool -> stream open ms, in-app ms, {phase: ms}) for one press."""
    sent = time.time()
    press(h)

    def started():
        hits = CAPTURE_RUNNING.findall(log_text(home))
        return hits if len(hits) > count_before else None

    hits = wait_until(started, 15, "capture running", 0.005)
    at_time, in_app_ms, phases = hits[-1]
    return (float(at_time) - sent) * 1000.0, float(in_app_ms), {k: float(v) for k, v in PHASE.findall(phases or "")}


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):6.1f}  p95 {p95:6.1f}  max {ordered[-1]:6.1f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b > 0 else "n/a (baseline used no measurable CPU)"


def write_schedules(home: Path, count: int) -> None:
    """``count`` schedules on every day, an hour apart, starting 3 h from now (none falls into the windows)."""
    import datetime as dt

    folder = home / ".config" / "trayrip"
    folder.mkdir(parents=True, exist_ok=True)
    first = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3)
    lines = ['timezone = "UTC"']
    for i in range(count):
        t = (first + dt.timedelta(hours=i)).strftime("%H:%M")
        lines += ["", "[[schedule]]", f'name = "bench {i}"', f'when = "daily {t}"', 'for = "30m"']
    (folder / "schedules.toml").write_text("\n".join(lines) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each CPU window (default 60)")
    parser.add_argument("--presses", type=int, default=50, help="hotkey presses timed for latency (default 50)")
    parser.add_argument("--latency-only", action="store_true", help="skip the CPU windows")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (recordings, logs)")
    parser.add_argument("--schedules", type=int, default=0, metavar="N",
                        help="set N repeating schedules first (none due in the windows): idle must stay at zero")
    parser.add_argument("--mode", choices=("all", "app", "preroll"), default="all",
                        help="what the presses record: all audio, one application, or all audio with pre-roll")
    parser.add_argument("--server", choices=("pulseaudio", "pipewire"), default="pulseaudio")
    parser.add_argument("--key-delay", type=int, default=0, metavar="MS",
                        help="xdotool's pause between the hotkey's keys (default 0: the chord at once; "
                             "xdotool's own default, 12, adds ~18 ms before the chord is complete)")
    args = parser.parse_args()
    global KEY_DELAY_MS
    KEY_DELAY_MS = args.key_delay

    work = Path(tempfile.mkdtemp(prefix="trayrip-bench-"))
    home = work / "home"
    home.mkdir()
    config = home / ".config" / "trayrip" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text({"all": "", "app": "app = 'BenchApp'\n", "preroll": "preroll_seconds = 10\n"}[args.mode])
    h = Harness(server=args.server).start()
    procs: list[subprocess.Popen] = []
    try:
        env = {k: v for k, v in h.env.items() if not k.startswith("XDG_") or k in ("XDG_RUNTIME_DIR", "XDG_SESSION_TYPE")}
        env["HOME"] = str(home)
        if args.schedules:
            env["TRAYRIP_TIMERS"] = "none"  # this machine's systemd is not the benchmark's to change
            write_schedules(home, args.schedules)
        base_env = dict(env, PYSTRAY_BACKEND="gtk")
        baseline = subprocess.Popen([sys.executable, "-c", BASELINE_ICON], env=base_env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(baseline)
        trayrip = subprocess.Popen([sys.executable, "-m", "trayrip"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=open(work / "trayrip.stderr", "w"))
        procs.append(trayrip)
        h.wait_tray_icons(2, timeout=20)
        wait_until(lambda: "trayrip is running" in log_text(home), 20, "trayrip start-up")
        time.sleep(5)  # start-up work (PortAudio warm-up, device scan) settles
        pids = {"trayrip": trayrip.pid, "baseline pystray icon": baseline.pid}

        if not args.latency_only:
            print(f"harness up; measuring {args.seconds:g} s windows (CPU % of one core, /proc/<pid>/stat)")
            idle, idle_threads = measure(pids, args.seconds)

            # a tone whose level sweeps from silence to -10 dBFS about once a second, so the
            # icon's level meter keeps changing (the tray's worst case, like music)
            tone = work / "tone.wav"
            sig = at.tone(1000, args.seconds + 6, amplitude=0.6)
            t = np.arange(len(sig)) / at.RATE
            sig *= (0.5 + 0.5 * np.sin(2 * np.pi * 0.9 * t))[:, None] ** 3
            at.write_wav(tone, sig.astype(np.float32))
            player = h.play(tone, wait=False)
            procs.append(player)
            time.sleep(0.5)
            press_and_time(h, home, 0)
            # the capture engine alone, recording the same sound at the same time: `trayrip record`
            engine = subprocess.Popen([sys.executable, "-m", "trayrip", "record", "--quiet", "--folder", str(work / "cli")],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(engine)
            time.sleep(2)  # both streams are flowing
            rec, rec_threads = measure(dict(pids, **{"trayrip record (engine only)": engine.pid}), args.seconds)
            engine.send_signal(signal.SIGINT)
            engine.wait(30)
            press(h)
            player.wait(args.seconds + 30)

        if args.mode == "app":  # the application plays through every press (quietly: it is only routed)
            app_tone = work / "app.wav"
            at.write_wav(app_tone, at.tone(500, args.presses * 3.0 + 30, amplitude=0.05))
            procs.append(subprocess.Popen(
                ["paplay", f"--device={h.sink}", "--property=application.name=BenchApp", str(app_tone)],
                env=h.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            time.sleep(2)
        latencies = []
        for _ in range(args.presses):
            time.sleep(1.0)
            n = len(CAPTURE_RUNNING.findall(log_text(home)))
            latencies.append(press_and_time(h, home, n))
            time.sleep(0.5)
            press(h)  # stop (files a short recording)
        time.sleep(1.0)

        if not args.latency_only:
            print()
            print(f"{'':30s}{'idle':>10s}{'recording':>12s}")
            for name in rec:
                idle_text = f"{idle[name]:9.3f}%" if name in idle else f"{'-':>10s}"
                print(f"{name:30s}{idle_text}{rec[name]:11.3f}%")
            base = "baseline pystray icon"
            print(f"trayrip - baseline icon: idle {idle['trayrip'] - idle[base]:+.3f} %, "
                  f"recording {rec['trayrip'] - rec[base]:+.3f} % of a core"
                  f" (ratio idle {ratio(idle['trayrip'], idle[base])}, recording {ratio(rec['trayrip'], rec[base])})")
            eng = rec["trayrip record (engine only)"]
            print(f"tray app / capture engine while recording: {ratio(rec['trayrip'], eng)} "
                  f"({rec['trayrip'] - eng:+.3f} % of a core for icon, meter, tooltip, controller)")
            print("goals: idle <= 0.2 %, recording <= 2 %")
            busiest = sorted(rec_threads.items(), key=lambda kv: -kv[1])[:6]
            print("trayrip threads while recording: " + ", ".join(f"{k} {v:.2f}%" for k, v in busiest))
            busiest = sorted(idle_threads.items(), key=lambda kv: -kv[1])[:3]
            print("trayrip threads while idle: " + ", ".join(f"{k} {v:.3f}%" for k, v in busiest))
        e2e = [a for a, _, _ in latencies]
        app = [b for _, b, _ in latencies]
        print()
        print(f"hotkey -> capture running, {len(latencies)} presses, mode {args.mode}, {args.server}, key delay "
              f"{args.key_delay} ms, load average {os.getloadavg()[0]:.1f} (goal <= 100 ms):")
        print(f"  xdotool key -> stream open          {spread(e2e)}")
        print(f"  hotkey callback -> stream open      {spread(app)}")
        names = sorted({k for _, _, ph in latencies for k in ph})
        for name in names:
            print(f"    {name + ':':32s}{spread([ph.get(name, 0.0) for _, _, ph in latencies])}")
        slow = sorted(latencies, key=lambda r: -r[0])[:5]
        print("  slowest presses: " + "; ".join(
            f"{a:.0f} ms (" + ", ".join(f"{k} {v:.0f}" for k, v in ph.items()) + ")" for a, _, ph in slow))
        files = list((home / "Music" / "playlists").glob("*.wav"))
        print(f"\n{len(files)} recordings filed" + (f"; work folder kept: {work}" if args.keep else ""))
        return 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        h.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
