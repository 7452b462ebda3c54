#!/usr/bin/env python3
"""Days of uptime in minutes: >= 1,000 hotkey recordings through the tray app, pre-roll on.

    .venv/bin/python bench/bench_soak.py                      # 1000 recordings, PulseAudio
    .venv/bin/python bench/bench_soak.py --cycles 2000 --server pipewire

Starts the harness desktop (tests/harness.py) and the real ``python -m
trayrip`` with ``preroll_seconds = 2`` and a tone playing into the default
output, then presses the global hotkey (xdotool) twice per recording: start,
wait until the capture runs, stop, wait for the "Recording saved" / "Nothing
recorded" notification. Every ``--every`` recordings the sound server
restarts and a second output ("headphones") becomes the default (it goes
away with the next restart). Printed, after every ``--every`` recordings
(before that restart): the trayrip process's RSS, open file descriptors,
threads and child processes, and the server's modules and sinks; at the end
the first and last of those samples side by side (same situation: recording
on the headphones with pre-roll, one restart and one switch since the
sample before) and how every start ended.

The driver is tests/soak.py; the suite runs 100 recordings of it
(tests/system/test_soak_system.py).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from harness import Harness  # noqa: E402
from soak import Soak  # noqa: E402

XDG_VARS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_MUSIC_DIR")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--server", choices=("pulseaudio", "pipewire"), default="pulseaudio")
    args = ap.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="trayrip-soak-") as tmp, Harness(server=args.server) as h:
        home = Path(tmp) / "home"
        home.mkdir()
        env = {k: v for k, v in h.env.items() if k not in XDG_VARS}  # as the tests' user_env: a fresh user
        env["HOME"] = str(home)
        soak = Soak(h, env, home, Path(tmp))
        try:
            soak.wait_ready()
            start, samples, end = soak.run(args.cycles, every=args.every,
                                           report=lambda c: print(c.line(), flush=True))
            log = soak.log()
        finally:
            soak.close()
    first, last = samples[1], samples[-1]
    minutes = (time.monotonic() - t0) / 60
    print(f"\n{args.cycles} recordings on {args.server}, a restart + output switch every {args.every}, "
          f"{minutes:.1f} min")
    print("start    ", start.line())
    print("first    ", first.line())
    print("last     ", last.line())
    print("end      ", end.line(), "(the headphones removed)")
    print(f"RSS {last.rss_kb - first.rss_kb:+d} KiB, fds {last.fds - first.fds:+d}, threads "
          f"{last.threads - first.threads:+d}, children {last.children - first.children:+d}; server modules "
          f"{end.modules - start.modules:+d}, sinks {end.sinks - start.sinks:+d} (end vs start)")
    print("outcomes:", soak.outcomes, f"({soak.started} started)")
    print("tracebacks in the log:", log.count("Traceback"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
