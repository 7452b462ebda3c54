"""Giving a recording's memory back: one trim each time the tray is idle again after a recording."""
from __future__ import annotations

import sys

from trayrip.desktop.controller import Snapshot
from trayrip.desktop.memory import AfterRecording, limit_arenas, malloc_trim
from trayrip.desktop.state import State


def test_trims_once_per_recording_when_idle_and_filed():
    calls = []
    after = AfterRecording(trim=lambda: calls.append(1))
    for state, pending in [(State.IDLE, 0), (State.IDLE, 0), (State.ARMED, 0), (State.IDLE, 0)]:
        assert after.update(Snapshot(state=state, pending=pending)).state is state
    assert calls == []  # idle, armed and disarmed: nothing recorded, nothing to give back
    for state, pending in [(State.RECORDING, 0), (State.RECORDING, 0), (State.FINISHING, 1), (State.IDLE, 1),
                           (State.IDLE, 0), (State.IDLE, 0)]:
        after.update(Snapshot(state=state, pending=pending))
    assert calls == [1]  # once the file is filed, not per update
    after.update(Snapshot(state=State.RECORDING))
    after.update(Snapshot(state=State.IDLE))
    assert calls == [1, 1]


def test_glibc_calls_work_here():
    if sys.platform.startswith("linux"):  # the CI machine: glibc
        trim = malloc_trim()
        assert trim is not None and trim() in (0, 1)
        assert limit_arenas(8) is True  # glibc's default for this machine's cores would be larger; harmless
    else:
        assert malloc_trim() is None and limit_arenas() is False
