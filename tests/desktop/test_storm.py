"""1,000 rapid hotkey toggles through the real controller: no crash, no orphans, nothing lost.

Every toggle either starts a recording or stops the running one (starting is
synchronous on the controller thread), so 1,000 toggles make exactly 500
start/stop pairs, and each pair must end as a filed recording or as an
explicit, counted "nothing recorded" -- none silently lost.
"""
from __future__ import annotations

import threading
import time

import numpy as np
import soundfile as sf

from trayrip.api import Recording
from trayrip.capture.fake import FakeSource
from trayrip.config import Config
from trayrip.desktop.controller import Cmd, Controller
from trayrip.desktop.state import State

RATE = 48000
TOGGLES = 1000


def test_thousand_rapid_toggles_file_or_count_every_recording(tmp_path):
    out = tmp_path / "out"
    t = np.arange(RATE) / RATE
    tone = np.repeat((0.3 * np.sin(2 * np.pi * 600 * t))[:, None], 2, axis=1)
    made: list[Recording] = []

    def factory(options):
        rec = Recording(options, source=FakeSource(tone, RATE, speed=1.0, total_frames=RATE * 3600, blocksize=480))
        made.append(rec)
        return rec

    saved, nothing, errors = [], [], []
    settled = threading.Condition()

    def notify(summary, body="", *, error=False, icon=None):
        if summary == "Recording started":  # each start says what it records; counted are the outcomes
            return
        with settled:
            (errors if error else saved if summary.startswith("Recording saved") else nothing).append((summary, body))
            settled.notify_all()

    c = Controller(Config(folder=str(out)), recording_factory=factory, notify=notify)
    c.start()
    try:
        for i in range(TOGGLES):
            c.submit(Cmd.TOGGLE)
            if i % 97 == 0:
                time.sleep(0.05)  # let some recordings gather audio
        c.submit(Cmd.STOP)  # after an even number of toggles: nothing to stop
        with settled:
            done = settled.wait_for(lambda: len(saved) + len(nothing) + len(errors) >= TOGGLES // 2, 180)
        assert done, f"only {len(saved)} saved + {len(nothing)} empty of {TOGGLES // 2}; {c.snapshot}"
        deadline = time.monotonic() + 30
        while c.snapshot.state is not State.IDLE or c.snapshot.pending:
            assert time.monotonic() < deadline, f"controller never settled: {c.snapshot}"
            time.sleep(0.02)
        assert c._thread.is_alive()  # the controller survived
    finally:
        c.submit(Cmd.QUIT)
        c.wait_exit(30)
    assert not errors
    assert len(made) == TOGGLES // 2  # every other toggle started one: no start was lost or doubled
    assert all(r.result is not None for r in made)  # and every one was stopped
    non_empty = [r for r in made if r.result.frames > 0]
    assert len(saved) == len(non_empty) and len(nothing) == len(made) - len(non_empty)
    assert not list(out.glob(".trayrip-*"))  # no orphan capture files
    filed = sorted(p for p in out.iterdir())
    assert len(filed) == len(non_empty) == len({r.filed.path for r in non_empty})
    for r in non_empty:
        assert sf.info(r.filed.path).frames == r.filed.frames
    print(f"{len(made)} recordings: {len(non_empty)} filed, {len(nothing)} with nothing to file")
