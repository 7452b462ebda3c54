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


def test_a_silent_recording_is_announced_as_silent(tmp_path):
    from trayrip.filing.finish import FiledRecording

    notes = []
    path = tmp_path / "rec.wav"
    path.write_bytes(b"RIFF")

    class Rec:
        result = None
        failed = None

        def start(self):
            return self

        def status(self):
            from trayrip.recording.recorder import RecorderStatus

            return RecorderStatus(1.0, float("-inf"), 0, 0, 0)

        def wait_done(self, timeout):
            return False

        def stop_capture(self):
            self.result = type("R", (), {"frames": 96000, "error": None, "duration": 2.0})()
            return self.result

        def finish(self):
            return FiledRecording(path, 96000, 48000, True, silent="digital silence (every sample is zero)")

    c = Controller(
        Config(), recording_factory=lambda options: Rec(), notify=lambda s, b="", **kw: notes.append((s, b)),
        opener=lambda p: None, threaded_filer=False, default_folder=lambda: tmp_path, rebind_hotkey=lambda t: None,
    )
    c.submit(Cmd.TOGGLE)
    c.run_pending()
    c.submit(Cmd.TOGGLE)
    c.run_pending()
    summary, body = notes[-1]
    assert summary == "Silent recording saved"
    assert "rec.wav (0:02)" in body and "digital silence" in body


def test_a_hotkey_typo_in_the_config_keeps_the_binding_in_effect(tmp_path):
    from trayrip.config import ConfigStore

    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text('hotkey = "<ctrl>+<alt>+r"\n')
    first = store.load()
    notes, rebinds = [], []

    def rebind(text):
        rebinds.append(text)
        return None

    c = Controller(
        first.config, store=store, recording_factory=lambda o: None, notify=lambda s, b="", **kw: notes.append((s, b)),
        opener=lambda p: None, threaded_filer=False, default_folder=lambda: tmp_path, rebind_hotkey=rebind,
    )
    store.path.write_text('hotkey = "<ctrl>+<alt>+<shfit>+r"\nthreshold_db = -40\n')  # a typo, and a good change
    c.submit(Cmd.RELOAD_CONFIG)
    c.run_pending()
    assert rebinds == []  # the working binding was never replaced
    assert c._config.hotkey == "<ctrl>+<alt>+r" and c._config.threshold_db == -40
    summary, body = notes[-1]
    assert "hotkey" in body and "keeping '<ctrl>+<alt>+r'" in body
    # the same file at start-up (nothing in effect yet) falls back to the default, and says so
    assert "using the default" in ConfigStore(store.path).load().problems[0]
