"""`trayrip doctor`'s checks with fakes (issue 20, item 6): the free-space warning and an empty test capture."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from trayrip import doctor
from trayrip.capture.base import AudioFormat
from trayrip.config import Config


def folder_check(monkeypatch, tmp_path, free: int, fmt: AudioFormat | None):
    monkeypatch.setattr(doctor.shutil, "disk_usage", lambda path: SimpleNamespace(total=free, used=0, free=free))
    ctx = {"config": Config(folder=str(tmp_path))}
    if fmt is not None:
        ctx["plan"] = SimpleNamespace(format=fmt)
    return doctor.check_folder(ctx)


@pytest.mark.parametrize("fmt", [AudioFormat(48000, 2, 2), AudioFormat(96000, 2, 3), AudioFormat(44100, 1, 2)])
def test_free_space_under_ten_minutes_at_the_recording_rate_is_a_warning(monkeypatch, tmp_path, fmt):
    ten_minutes = 600 * fmt.rate * fmt.bytes_per_frame
    low = folder_check(monkeypatch, tmp_path, ten_minutes - fmt.bytes_per_frame, fmt)
    assert low.status == doctor.WARN and "free some space" in low.fix
    enough = folder_check(monkeypatch, tmp_path, ten_minutes + fmt.bytes_per_frame, fmt)
    assert enough.status == doctor.OK and "room for 10:00" in enough.detail


class SilentRecording:
    """A recording whose source opened but delivered nothing."""

    def __init__(self, *args, **kwargs):
        self.folder = kwargs["folder"]

    def start(self, max_seconds=None):
        return self

    def wait_done(self, timeout):
        return True

    def stop_capture(self):
        return SimpleNamespace(error=None, frames=0, format=AudioFormat(48000, 2, 2), peak_db=float("-inf"),
                               part=Path(self.folder) / "x.part")

    def finish(self):
        from trayrip.errors import CaptureError

        raise CaptureError("nothing was captured")


def test_a_test_capture_with_no_frames_fails(monkeypatch):
    from trayrip import api

    monkeypatch.setattr(api, "Recording", SilentRecording)
    check = doctor.check_capture({"plan": object(), "config": Config()})
    assert check.status == doctor.FAIL and "delivered no audio" in check.detail


def test_doctor_reports_the_hotkey_the_running_app_bound(monkeypatch):
    """The tray app answers ``hotkey``: what the desktop bound, or that its shortcut service is gone."""
    from trayrip.config import Config
    from trayrip.desktop import instance
    from trayrip.desktop.portal_follow import GONE_MESSAGE
    from trayrip.errors import TrayripError

    replies = iter(["ok Ctrl+Alt+F9 (bound by the desktop)", f"problem Ctrl+Alt+Shift+R: {GONE_MESSAGE}",
                    "unknown command 'hotkey'"])
    monkeypatch.setattr(instance, "ask_running", lambda command, timeout=3.0: next(replies))
    ctx = {"config": Config()}
    ok = doctor.check_hotkey(ctx)
    assert (ok.status, ok.detail) == (doctor.OK, "Ctrl+Alt+F9 (bound by the desktop) (the running trayrip)")
    gone = doctor.check_hotkey(ctx)
    assert gone.status == doctor.WARN and GONE_MESSAGE in gone.detail and "by itself" in gone.fix
    older = doctor.check_hotkey(ctx)  # an older running trayrip: the checks of this session instead
    assert "running trayrip" not in older.detail

    def not_running(command, timeout=3.0):
        raise TrayripError("trayrip is not running")

    monkeypatch.setattr(instance, "ask_running", not_running)
    assert "running trayrip" not in doctor.check_hotkey(ctx).detail
