"""1,000 rapid hotkey toggles through the real controller: no crash, no orphans, nothing lost."""
from __future__ import annotations

import time

import numpy as np
import soundfile as sf

from trayrip.api import Recording
from trayrip.capture.fake import FakeSource
from trayrip.config import Config
from trayrip.desktop.controller import Cmd, Controller
from trayrip.desktop.state import State

RATE = 48000


def test_thousand_rapid_toggles_file_every_non_empty_recording(tmp_path):
    out = tmp_path / "out"
    t = np.arange(RATE) / RATE
    tone = np.repeat((0.3 * np.sin(2 * np.pi * 600 * t))[:, None], 2, axis=1)
    made: list[Recording] = []

    def factory(options):
        rec = Recording(options, source=FakeSource(tone, RATE, speed=1.0, total_frames=RATE * 3600, blocksize=480))
        made.append(rec)
        return rec

    notes = []
    c = Controller(Config(folder=str(out)), recording_factory=factory, notify=lambda *a, **k: notes.append(a))
    c.start()
    try:
        for i in range(1000):
            c.submit(Cmd.TOGGLE)
            if i % 97 == 0:
                time.sleep(0.05)  # let some recordings gather audio
        c.submit(Cmd.STOP)
        deadline = time.monotonic() + 120
        while True:
            snap = c.snapshot
            if snap.state in (State.IDLE, State.ERROR) and snap.pending == 0 and all(r.result is not None for r in made):
                if all(r.filed is not None or r.result.frames == 0 or r.result.error for r in made):
                    break
            assert time.monotonic() < deadline, f"controller never settled: {snap}"
            time.sleep(0.05)
        assert c.snapshot.state is State.IDLE, c.snapshot.error
        assert c._thread.is_alive()  # the controller survived
    finally:
        c.submit(Cmd.QUIT)
        c.wait_exit(30)
    print(f"{len(made)} recordings started, {sum(r.result.frames > 0 for r in made)} with audio")
    assert len(made) >= 10
    assert not list(out.glob(".trayrip-*"))  # no orphan capture files
    non_empty = [r for r in made if r.result.frames > 0]
    filed = sorted(p for p in out.iterdir())
    assert len(filed) == len(non_empty) == len({r.filed.path for r in non_empty})
    for r in non_empty:
        assert sf.info(r.filed.path).frames == r.filed.frames
