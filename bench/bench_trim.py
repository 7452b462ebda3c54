"""Offline trim benchmark: ``trayrip trim`` against the seed's method, sox, and plain reading.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/bench_trim.py                    # 60 minutes, 44.1k/16 and 96k/24
    .venv/bin/python bench/bench_trim.py --minutes 5 --skip seed

For each format a stereo test file is generated (``--minutes`` of tone + noise
"music" with 5 s of silence before and 10 s after, written in blocks), then
every method runs in its own fresh process, one after the other, on the same
file with the page cache warm, and its wall time and peak RSS (``wait4``'s
``ru_maxrss`` of that process) are recorded:

* read      -- Python reading the file in 1 MiB blocks (the floor for anything that looks at it all)
* copy      -- ``shutil.copyfile`` of the whole file (the floor for writing a trimmed copy)
* trayrip trim -o OUT           -- the command under test (ends scanned, kept bytes copied)
* trayrip trim --dry-run        -- the analysis alone
* trayrip trim --in-place       -- O(1) cut of a copy of the file (the copy is not timed)
* trayrip split --dry-run       -- one full detector pass over every sample (what splitting costs)
* sox       -- ``sox IN OUT silence 1 0.02 -50d reverse silence 1 0.02 -50d reverse``
* seed      -- the seed blog post's method: ``pydub.AudioSegment.from_file``, then
               ``pydub.silence.detect_leading_silence`` (-50 dBFS, 10 ms chunks) on the
               sound and on ``sound.reverse()``, slice, ``export`` as WAV

Ratios are against measurements of the same run. ``sync`` runs (untimed)
before each method so one method's write-back does not land on the next.
Everything is written under ``--dir`` (default: a new temporary folder) and
deleted at the end unless ``--keep``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
LEAD, TAIL = 5.0, 10.0

READ_CODE = """
import sys
with open(sys.argv[1], "rb", buffering=0) as f:
    buf = bytearray(1 << 20)
    while f.readinto(buf):
        pass
"""

COPY_CODE = "import shutil, sys; shutil.copyfile(sys.argv[1], sys.argv[2])"

SEED_CODE = """
import sys, warnings
warnings.simplefilter("ignore")
from pydub import AudioSegment
from pydub.silence import detect_leading_silence
sound = AudioSegment.from_file(sys.argv[1], format="wav")
start = detect_leading_silence(sound, silence_threshold=-50.0, chunk_size=10)
end = detect_leading_silence(sound.reverse(), silence_threshold=-50.0, chunk_size=10)
sound[start:len(sound) - end].export(sys.argv[2], format="wav")
"""


def generate(path: Path, minutes: float, rate: int, bits: int) -> None:
    """Stereo 'music' (three tones + noise, slowly varying level) between 5 s of silence and 10 s of silence."""
    import soundfile as sf

    total = int(minutes * 60 * rate)
    lead, tail = min(LEAD, minutes * 6), min(TAIL, minutes * 12)  # short smoke-test files stay mostly sound
    block = rate * 10
    rng = np.random.default_rng(0)
    t = np.arange(block) / rate
    base = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 554.4 * t) + 0.05 * np.sin(2 * np.pi * 1318.5 * t)
    fmt = "RF64" if total * 2 * bits // 8 > 0xFFFFFFFF - 1024 else "WAV"
    with sf.SoundFile(str(path), "w", rate, 2, f"PCM_{bits}", format=fmt) as f:
        pos = 0
        while pos < total:
            n = min(block, total - pos)
            level = 0.5 + 0.5 * rng.random()
            x = (level * base[:n] + 0.03 * rng.standard_normal(n)).astype(np.float32)
            stereo = np.stack([x, np.roll(x, 37)], axis=1)
            idx = np.arange(pos, pos + n)
            stereo[(idx < lead * rate) | (idx >= total - tail * rate)] = 0
            f.write(stereo)
            pos += n


# Peak RSS is measured by a tiny launcher: Linux counts the memory a process had when it
# was forked (and, after vfork, its parent's peak) into ru_maxrss, so a child forked from
# this benchmark (numpy, generated audio) would report our RSS, not its own. The launcher
# (python -S -I, a few MB) forks, execs the command, and reports wait4's figures.
LAUNCHER = """
import os, sys, time
report = int(sys.argv[1])
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.close(report)
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
os.write(report, f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}".encode())
"""


def run(argv: list[str], env: dict | None = None) -> tuple[float, float, int, str]:
    """Run one process; (wall seconds, peak RSS MB, exit code, stderr tail)."""
    os.sync()
    errf = tempfile.TemporaryFile()
    r, w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-S", "-I", "-c", LAUNCHER, str(w), *argv], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=errf, env=env, pass_fds=(w,),
    )
    os.close(w)
    with os.fdopen(r) as report:
        text = report.read()
    proc.wait()
    errf.seek(0)
    err = errf.read()[-400:].decode("utf-8", "replace")
    errf.close()
    if not text:
        return 0.0, 0.0, proc.returncode or 1, err
    wall, rss_kb, code = text.split()
    return float(wall), int(rss_kb) / 1024, int(code), err


def duration_of(path: Path) -> float | None:
    try:
        import soundfile as sf

        return sf.info(str(path)).duration
    except Exception:  # noqa: BLE001 - a method that wrote nothing shows "-"
        return None


def bench_file(src: Path, work: Path, skip: set[str], repeat: int) -> list[dict]:
    py = sys.executable
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = work / "out.wav"
    rows = []

    def method(name: str, argv: list[str], times: int, output: Path | None = None, prepare=None) -> None:
        if name.split()[0] in skip:
            return
        walls, rss, dur = [], [], None
        for _ in range(times):
            for p in (out, work / "copy.wav"):
                p.unlink(missing_ok=True)
            if prepare:
                prepare()
            wall, peak, code, err = run(argv, env)
            if code != 0:
                raise SystemExit(f"{name} failed ({code}): {err}")
            walls.append(wall)
            rss.append(peak)
            if output is not None:
                dur = duration_of(output)
        rows.append({"method": name, "seconds": statistics.median(walls), "peak_rss_mb": max(rss), "output_seconds": dur, "runs": times})
        print(f"  {name:<28} {statistics.median(walls):9.2f} s {max(rss):9.0f} MB" + (f"  (kept {dur:.3f} s)" if dur else ""), flush=True)

    trayrip = [py, "-m", "trayrip"]
    floor = run(["true"], env)[1]
    print(f"  (launcher floor: {floor:.0f} MB; a smaller process shows as this)")
    method("read", [py, "-c", READ_CODE, str(src)], repeat)
    method("copy", [py, "-c", COPY_CODE, str(src), str(work / "copy.wav")], repeat)
    method("trayrip trim -o", [*trayrip, "trim", "-q", str(src), "-o", str(out)], repeat, out)
    method("trayrip trim --dry-run", [*trayrip, "trim", "-q", "--dry-run", str(src)], repeat)
    in_place = work / "inplace.wav"
    method(
        "trayrip trim --in-place", [*trayrip, "trim", "-q", "--in-place", str(in_place)], repeat, in_place,
        prepare=lambda: shutil.copyfile(src, in_place),
    )
    in_place.unlink(missing_ok=True)
    method("trayrip split --dry-run", [*trayrip, "split", "-q", "--dry-run", str(src)], repeat)
    if shutil.which("sox"):
        method("sox", ["sox", str(src), str(out), "silence", "1", "0.02", "-50d", "reverse", "silence", "1", "0.02", "-50d", "reverse"], 1, out)
    else:
        print("  sox: not installed, skipped")
    method("seed (pydub)", [py, "-c", SEED_CODE, str(src), str(out)], 1, out)
    out.unlink(missing_ok=True)
    return rows


def ratio(rows: list[dict], a: str, b: str) -> float | None:
    by = {r["method"]: r for r in rows}
    if a in by and b in by and by[b]["seconds"] > 0:
        return by[a]["seconds"] / by[b]["seconds"]
    return None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=60.0, help="length of each test file (default 60)")
    p.add_argument("--formats", default="44100:16,96000:24", help="RATE:BITS list (default 44100:16,96000:24)")
    p.add_argument("--dir", type=Path, default=None, help="work folder (default: a new temporary folder)")
    p.add_argument("--skip", default="", help="comma-separated methods to skip: seed, sox, read, copy")
    p.add_argument("--repeat", type=int, default=3, help="runs of the fast methods (median); sox and seed run once")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--keep", action="store_true", help="keep the generated files")
    args = p.parse_args(argv)
    formats = [tuple(int(v) for v in f.split(":")) for f in args.formats.split(",") if f]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    work = Path(tempfile.mkdtemp(prefix="trayrip-bench-", dir=args.dir))
    need = max(r * 2 * b // 8 for r, b in formats) * args.minutes * 60 * 3.2
    free = shutil.disk_usage(work).free
    if free < need:
        shutil.rmtree(work)
        raise SystemExit(f"need about {need / 1e9:.1f} GB free in {work.parent}, have {free / 1e9:.1f} GB; use --dir or --minutes")
    print(f"trayrip trim benchmark: {args.minutes:g} min stereo, files in {work}", flush=True)
    results = []
    try:
        for rate, bits in formats:
            src = work / f"test-{rate}-{bits}.wav"
            t0 = time.perf_counter()
            generate(src, args.minutes, rate, bits)
            size = src.stat().st_size
            print(f"\n{rate} Hz / {bits}-bit: {size / 1e9:.2f} GB (generated in {time.perf_counter() - t0:.0f} s)", flush=True)
            rows = bench_file(src, work, skip, max(1, args.repeat))
            results.append({"rate": rate, "bits": bits, "minutes": args.minutes, "bytes": size, "rows": rows})
            src.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_summary(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def print_summary(results: list[dict]) -> None:
    print("\n| file | method | wall time | peak RSS | kept audio |")
    print("| --- | --- | ---: | ---: | ---: |")
    for res in results:
        label = f"{res['minutes']:g} min {res['rate'] / 1000:g} kHz/{res['bits']}-bit ({res['bytes'] / 1e9:.2f} GB)"
        for r in res["rows"]:
            kept = f"{r['output_seconds']:.3f} s" if r["output_seconds"] else "-"
            print(f"| {label} | {r['method']} | {r['seconds']:.2f} s | {r['peak_rss_mb']:.0f} MB | {kept} |")
    print("\nRatios (same run):")
    for res in results:
        rows = res["rows"]
        label = f"{res['rate'] / 1000:g} kHz/{res['bits']}-bit"
        parts = []
        for a, b, text in (
            ("seed (pydub)", "trayrip trim -o", "seed / trayrip trim"),
            ("sox", "trayrip trim -o", "sox / trayrip trim"),
            ("trayrip trim -o", "read", "trayrip trim / read"),
            ("trayrip trim -o", "copy", "trayrip trim / copy"),
            ("sox", "trayrip split --dry-run", "sox / trayrip full pass"),
            ("trayrip split --dry-run", "read", "trayrip full pass / read"),
        ):
            value = ratio(rows, a, b)
            if value is not None:
                parts.append(f"{text} = {value:.1f}x")
        print(f"  {label}: " + ", ".join(parts))


if __name__ == "__main__":
    sys.exit(main())
