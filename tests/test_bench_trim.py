"""Smoke test of bench/bench_trim.py at a few seconds of audio (the real run is by hand: see bench/README.md)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_trim.py"


def test_bench_trim_runs_and_reports_every_method(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), "--minutes", "0.1", "--repeat", "1", "--dir", str(tmp_path), "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(out.read_text())
    assert [(r["rate"], r["bits"]) for r in results] == [(44100, 16), (96000, 24)]
    for r in results:
        rows = {row["method"]: row for row in r["rows"]}
        assert {"read", "copy", "trayrip trim -o", "trayrip trim --in-place", "trayrip split --dry-run", "seed (pydub)"} <= set(rows)
        kept = rows["trayrip trim -o"]["output_seconds"]
        assert abs(kept - rows["trayrip trim --in-place"]["output_seconds"]) < 1e-6
        assert abs(kept - (rows["seed (pydub)"]["output_seconds"] + 0.4)) < 0.025  # same sound, plus trayrip's pads
    assert "Ratios (same run)" in done.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # generated files deleted
