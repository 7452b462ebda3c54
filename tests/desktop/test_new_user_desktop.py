"""What a new user hit in the tray (issue 13, item 7), with fakes (no display)."""
from __future__ import annotations

from trayrip.config import Config
from trayrip.desktop.controller import Cmd, Controller
from trayrip.desktop.state import State
from trayrip.errors import FolderNotWritable


def test_unwritable_folder_in_the_tray_points_at_the_settings_menu(tmp_path):
    notes = []

    def factory(options):
        raise FolderNotWritable(tmp_path / "music", "permission denied")

    c = Controller(
        Config(), recording_factory=factory, notify=lambda s, b="", **kw: notes.append((s, b)),
        opener=lambda p: None, threaded_filer=False, default_folder=lambda: tmp_path, rebind_hotkey=lambda t: None,
    )
    c.submit(Cmd.TOGGLE)
    c.run_pending()
    assert c.snapshot.state is State.ERROR
    summary, body = notes[-1]
    assert "Settings \N{RIGHTWARDS ARROW} Output folder" in body and "--folder" not in body, body
    assert "permission denied" in body
