"""Holding sleep while recording, against python-dbusmock's logind on a private system bus."""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from trayrip.desktop.controller import Snapshot
from trayrip.desktop.sleep_inhibit import SleepGuard, sync_capture_files
from trayrip.desktop.state import State
from trayrip.desktop.tray import tooltip

import dbus  # noqa: E402  (python3-dbus: installer/debian-test-packages.txt; missing means failing, not skipping)
import dbusmock  # noqa: E402  (pyproject.toml [test])

MANAGER = "org.freedesktop.login1.Manager"
WAIT = 10.0


def wait_for(predicate, what: str):
    deadline = time.monotonic() + WAIT
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def logind(monkeypatch):
    """A logind stand-in (dbusmock's template) on a private system bus."""
    monkeypatch.delenv("DBUS_SYSTEM_BUS_ADDRESS", raising=False)
    with dbusmock.PrivateDBus(dbusmock.BusType.SYSTEM) as bus:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address)
        mock = dbusmock.SpawnedMock.spawn_with_template("logind", bustype=dbusmock.BusType.SYSTEM,
                                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            yield mock.obj
        finally:
            mock.terminate()


def inhibitors(obj) -> list[tuple[str, str]]:
    """(what, mode) of every inhibitor logind holds for trayrip."""
    return sorted((str(i[0]), str(i[3])) for i in obj.ListInhibitors(dbus_interface=MANAGER) if i[1] == "trayrip")


def prepare_for_sleep(obj, going: bool) -> None:
    obj.EmitSignal(MANAGER, "PrepareForSleep", "b", [going], dbus_interface=dbusmock.MOCK_IFACE)


def snap(state: State, folder: Path | None = None, **kw) -> Snapshot:
    return Snapshot(state=state, folder=folder, **kw)


HELD = [("idle", "block"), ("sleep", "delay")]


def test_held_only_while_recording(logind, tmp_path):
    guard = SleepGuard()
    try:
        guard.update(snap(State.IDLE, tmp_path, preroll=30.0, preroll_bytes=5_760_000))  # pre-roll only listens
        assert inhibitors(logind) == []
        guard.update(snap(State.ARMED, tmp_path))
        assert inhibitors(logind) == []
        shown = guard.update(snap(State.RECORDING, tmp_path))
        assert inhibitors(logind) == HELD
        assert guard.held and "sleep held" in tooltip(shown)
        guard.update(snap(State.RECORDING, tmp_path, elapsed=1.0))  # taken once, not per update
        assert inhibitors(logind) == HELD
        shown = guard.update(snap(State.FINISHING, tmp_path))
        wait_for(lambda: inhibitors(logind) == [], "the inhibitors to be released")
        assert not guard.held and "sleep held" not in tooltip(shown)
    finally:
        guard.close()


def test_suspend_syncs_the_capture_file_then_lets_go_and_resume_takes_the_lock_again(logind, tmp_path):
    part = tmp_path / ".trayrip-20260101-000000-1.wav.part"
    part.write_bytes(b"RIFF" + bytes(100))
    seen: list[list[tuple[str, str]]] = []

    def sync(folder):
        seen.append(inhibitors(logind))  # the delay lock must still be held while the file is synced
        return sync_capture_files(folder)

    guard = SleepGuard(sync=sync)
    try:
        guard.update(snap(State.RECORDING, tmp_path))
        prepare_for_sleep(logind, True)
        wait_for(lambda: inhibitors(logind) == [("idle", "block")], "the delay lock to be let go")
        assert seen == [HELD] and guard.synced == 1
        prepare_for_sleep(logind, False)
        wait_for(lambda: inhibitors(logind) == HELD, "the delay lock again after resume")
        guard.update(snap(State.IDLE, tmp_path))
        wait_for(lambda: inhibitors(logind) == [], "the release")
    finally:
        guard.close()


def test_a_suspend_while_idle_touches_nothing(logind, tmp_path):
    calls = []
    guard = SleepGuard(sync=calls.append)
    try:
        guard.update(snap(State.RECORDING, tmp_path))
        guard.update(snap(State.IDLE, tmp_path))
        wait_for(lambda: inhibitors(logind) == [], "the release")
        prepare_for_sleep(logind, True)
        prepare_for_sleep(logind, False)
        wait_for(lambda: guard.signals_seen == 2, "both signals to be handled")
        guard.update(snap(State.RECORDING, tmp_path))
        assert calls == [] and inhibitors(logind) == HELD
    finally:
        guard.close()
    wait_for(lambda: inhibitors(logind) == [], "close() to release")


def test_no_logind_records_anyway(monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'nobody'}")
    guard = SleepGuard()
    shown = guard.update(snap(State.RECORDING, tmp_path))
    assert not guard.held and "sleep held" not in tooltip(shown)
    guard.close()


def test_sync_capture_files_syncs_only_capture_files(tmp_path):
    (tmp_path / ".trayrip-a.wav.part").write_bytes(b"x")
    (tmp_path / "song.wav").write_bytes(b"x")
    assert sync_capture_files(tmp_path) == 1
    assert sync_capture_files(None) == 0
    assert os.path.exists(tmp_path / "song.wav")
