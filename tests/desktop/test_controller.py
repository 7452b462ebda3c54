"""Controller, filer, commands from the menu/second instance, notifier -- with fakes (no display).

Synchronous tests drive :meth:`Controller.run_pending` on the test thread
with an inline filer; threaded tests use the real controller and filer
threads and wait for snapshots (no timing thresholds anywhere).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from trayrip.capture.fake import FakeSource
from trayrip.config import Config, ConfigStore
from trayrip.desktop.controller import Cmd, Controller, DeviceChoice, Filer, Snapshot
from trayrip.errors import CaptureError, FilingError
from trayrip.filing.finish import FiledRecording
from trayrip.recording.recorder import RecorderStatus
from trayrip.desktop.state import State

WAIT = 20.0  # generous upper bound for threaded waits; never a performance assertion


# ---------------------------------------------------------------- fakes

@dataclass
class FakeResult:
    frames: int
    error: str | None = None

    @property
    def duration(self) -> float:
        return self.frames / 48000


class FakeRecording:
    """Stands in for trayrip.api.Recording."""

    def __init__(self, options, folder: Path, *, fail_start=None, frames=96000, gate=None,
                 finish_error=None, status_error=None, name=None):
        self.options = options
        self.folder = folder
        self.fail_start = fail_start
        self.frames = frames
        self.gate = gate
        self.finish_error = finish_error
        self.status_error = status_error
        self.name = name
        self.result = None
        self.started = False
        self.finished = False
        self._failed = None
        self.dead = False
        self.level = -20.0

    def start(self):
        if self.fail_start:
            raise CaptureError(self.fail_start)
        self.started = True
        return self

    def status(self):
        if self.status_error:
            raise self.status_error
        return RecorderStatus(1.5, self.level, 1000, 0, 0)

    def wait_done(self, timeout):
        return self.dead

    @property
    def failed(self):
        return self._failed

    def die(self, message="fake device unplugged"):
        self._failed, self.dead = message, True

    def stop_capture(self):
        if self.result is None:
            self.result = FakeResult(self.frames, self._failed)
        return self.result

    def finish(self):
        self.stop_capture()
        if self.gate is not None:
            assert self.gate.wait(WAIT), "test gate never opened"
        if self.frames == 0:
            raise CaptureError("nothing was captured")
        if self.finish_error:
            raise self.finish_error
        path = self.folder / (self.name or f"rec-{id(self)}.wav")
        path.write_bytes(b"RIFF")
        self.finished = True
        filed = FiledRecording(path, self.frames, 48000, True)
        if self._failed:
            from trayrip.api import RecordingFailed

            raise RecordingFailed(f"{self._failed}; the audio captured so far was saved as {path}", filed)
        return filed


class Factory:
    """Hands out prepared FakeRecordings in order (or default ones)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.queue: list[dict] = []
        self.made: list[FakeRecording] = []
        self.refreshed = 0

    def then(self, **kw) -> "Factory":
        self.queue.append(kw)
        return self

    def __call__(self, options):
        kw = self.queue.pop(0) if self.queue else {}
        rec = FakeRecording(options, self.folder, **kw)
        self.made.append(rec)
        return rec

    def refresh(self):
        self.refreshed += 1


class Notes:
    def __init__(self):
        self.items: list[tuple[str, str, bool]] = []

    def __call__(self, summary, body="", *, error=False, icon=None):
        self.items.append((summary, body, error))

    def summaries(self):
        return [s for s, _, _ in self.items]


class Harnessless:
    """A controller wired to fakes, plus what it published."""

    def __init__(self, tmp_path: Path, threaded=False, config=None, store=None, **kw):
        self.folder = tmp_path / "music"
        self.folder.mkdir(exist_ok=True)
        self.factory = Factory(self.folder)
        self.notes = Notes()
        self.opened: list[Path] = []
        self.snaps: list[Snapshot] = []
        self.cond = threading.Condition()
        self.exits = 0
        self.rebinds: list[str] = []
        self.c = Controller(
            config or Config(),
            store=store,
            recording_factory=self.factory,
            notify=self.notes,
            opener=self.opened.append,
            threaded_filer=threaded,
            default_folder=lambda: self.folder,
            rebind_hotkey=kw.pop("rebind_hotkey", self._rebind),
            **kw,
        )
        self.c.subscribe(self._on)
        self.c.on_exit(self._exit)

    def _rebind(self, text):
        self.rebinds.append(text)
        return None

    def _on(self, snap):
        with self.cond:
            self.snaps.append(snap)
            self.cond.notify_all()

    def _exit(self):
        self.exits += 1

    def send(self, *cmds):
        for cmd in cmds:
            if isinstance(cmd, tuple):
                self.c.submit(*cmd)
            else:
                self.c.submit(cmd)
        self.c.run_pending()
        return self.c.snapshot

    def states(self):
        out = []
        for s in self.snaps:
            if not out or out[-1] != s.state:
                out.append(s.state)
        return out

    def wait(self, pred, what):
        with self.cond:
            ok = self.cond.wait_for(lambda: any(pred(s) for s in self.snaps), WAIT)
        assert ok, f"timed out waiting for {what}; states: {self.states()}"
        return next(s for s in self.snaps if pred(s))


@pytest.fixture
def h(tmp_path):
    return Harnessless(tmp_path)


# ---------------------------------------------------------------- record / stop / file

def test_toggle_records_then_files_and_notifies(h):
    snap = h.send(Cmd.TOGGLE)
    assert snap.state is State.RECORDING
    rec = h.factory.made[0]
    assert rec.started and rec.options.folder is None and rec.options.format == "wav"
    snap = h.send(Cmd.TOGGLE)
    assert snap.state is State.IDLE and snap.pending == 0
    assert h.states() == [State.IDLE, State.RECORDING, State.FINISHING, State.IDLE]
    summary, body, error = h.notes.items[-1]
    assert summary == "Recording saved" and not error
    assert rec.finished and f"rec-{id(rec)}.wav (0:02)" in body
    assert snap.recent[0].name == f"rec-{id(rec)}.wav"


def test_explicit_start_stop_and_menu_commands_that_do_not_apply(h):
    assert h.send(Cmd.STOP).state is State.IDLE
    assert h.send(Cmd.START, Cmd.START).state is State.RECORDING
    assert len(h.factory.made) == 1
    assert h.send(Cmd.STOP).state is State.IDLE


def test_start_failure_shows_the_error_and_the_next_toggle_retries(h):
    h.factory.then(fail_start="the sound server is not running")
    snap = h.send(Cmd.TOGGLE)
    assert snap.state is State.ERROR and snap.error == "the sound server is not running"
    assert h.notes.items[-1] == ("trayrip: recording problem", "the sound server is not running", True)
    assert h.factory.refreshed == 1  # a stale audio backend is re-created
    assert h.send(Cmd.TOGGLE).state is State.RECORDING
    assert h.c.snapshot.error is None


def test_dismiss_clears_the_error(h):
    h.factory.then(fail_start="nope")
    h.send(Cmd.TOGGLE)
    assert h.send(Cmd.DISMISS).state is State.IDLE


def test_a_lost_stream_gives_error_and_files_what_was_captured(h):
    h.send(Cmd.TOGGLE)
    rec = h.factory.made[0]
    rec.die("the capture stream stopped (device or sound server lost)")
    h.c.tick()
    h.c.run_pending()
    snap = h.c.snapshot
    assert snap.state is State.ERROR and "device or sound server lost" in snap.error
    assert rec.finished and snap.pending == 0
    summaries = h.notes.summaries()
    assert "trayrip: recording problem" in summaries and "Recording saved after an error" in summaries


def test_a_start_while_the_server_is_down_leaves_the_error_when_it_is_back_and_says_so_once(h):
    h.factory.then(fail_start="no PulseAudio/PipeWire sound server is reachable (Connection failure: "
                              "Connection refused): start your sound server (or check PULSE_SERVER)")
    snap = h.send(Cmd.TOGGLE)
    assert snap.state is State.ERROR and "Connection refused" not in snap.error
    assert h.send(Cmd.REFRESH_APPS).state is State.IDLE  # the stream watcher: the server answers again
    h.send(Cmd.REFRESH_APPS)
    assert h.notes.summaries().count("trayrip: the sound server is back") == 1
    assert all("Connection refused" not in body for _, body, _ in h.notes.items)


def test_ticks_publish_level_and_elapsed_only_while_recording(h):
    assert h.c.wait_timeout() is None  # idle: the controller sleeps until a command comes
    h.send(Cmd.TOGGLE)
    assert h.c.wait_timeout() is not None
    h.c.tick()
    snap = h.c.snapshot
    assert (snap.elapsed, snap.level_db) == (1.5, -20.0)
    h.send(Cmd.TOGGLE)
    assert h.c.wait_timeout() is None
    assert (h.c.snapshot.elapsed, h.c.snapshot.level_db) == (0.0, float("-inf"))


def test_nothing_captured_is_not_an_error(h):
    h.factory.then(frames=0)
    snap = h.send(Cmd.TOGGLE, Cmd.TOGGLE)
    assert snap.state is State.IDLE
    summary, body, error = h.notes.items[-1]
    assert summary == "Nothing recorded" and not error and "was anything playing" in body


def test_filing_failure_is_an_error_with_the_message(h):
    h.factory.then(finish_error=FilingError("cannot write to /x: permission denied"))
    snap = h.send(Cmd.TOGGLE, Cmd.TOGGLE)
    assert snap.state is State.ERROR and "permission denied" in snap.error
    assert h.notes.items[-1][2] is True


def test_an_exception_in_the_controller_becomes_error_and_the_thread_lives_on(h):
    h.factory.then(status_error=RuntimeError("meter exploded"))
    h.send(Cmd.TOGGLE)
    h.c._guarded(h.c.tick)  # what the controller thread does on a tick
    h.c.run_pending()
    snap = h.c.snapshot
    assert snap.state is State.ERROR and "meter exploded" in snap.error
    assert h.factory.made[0].finished  # the audio was still filed
    assert h.send(Cmd.TOGGLE).state is State.RECORDING


def test_unexpected_filer_exception_is_reported_not_swallowed(tmp_path):
    reports = []
    filer = Filer(lambda cmd, payload: reports.append((cmd, payload)), threaded=False)
    bad = FakeRecording(None, tmp_path, finish_error=ZeroDivisionError("boom"))
    filer.submit(bad)
    assert reports[0][0] is Cmd.FILING_FAILED and "boom" in reports[0][1][1]


def test_start_latency_is_measured(h):
    h.send(Cmd.TOGGLE)
    assert h.c.last_start_latency is not None and h.c.last_start_latency >= 0
    assert h.c.last_capture_started_at is not None


# ---------------------------------------------------------------- threads

def test_a_new_recording_starts_while_the_previous_one_is_still_being_filed(tmp_path):
    h = Harnessless(tmp_path, threaded=True)
    gate = threading.Event()
    h.factory.then(gate=gate, name="first.wav").then(name="second.wav")
    h.c.start()
    try:
        h.c.submit(Cmd.TOGGLE)
        h.wait(lambda s: s.state is State.RECORDING, "recording")
        h.c.submit(Cmd.TOGGLE)
        h.wait(lambda s: s.state is State.FINISHING, "finishing")
        h.c.submit(Cmd.TOGGLE)  # filing of the first one is blocked on the gate
        second = h.wait(lambda s: s.state is State.RECORDING and s.pending == 1, "second recording")
        assert not h.factory.made[0].finished
        assert second.seq > 0
        gate.set()
        h.wait(lambda s: s.state is State.RECORDING and s.pending == 0 and s.recent, "first filed")
        h.c.submit(Cmd.TOGGLE)
        h.wait(lambda s: s.state is State.IDLE and len(s.recent) == 2, "second filed")
        assert [p.name for p in h.c.snapshot.recent] == ["second.wav", "first.wav"]
    finally:
        gate.set()
        h.c.submit(Cmd.QUIT)
        assert h.c.wait_exit(WAIT)
        h.c.join(WAIT)


@pytest.mark.parametrize("stop", [Cmd.STOP, Cmd.TOGGLE])
def test_a_stop_while_the_previous_recording_is_being_filed_stops_the_current_one(tmp_path, stop):
    h = Harnessless(tmp_path, threaded=True)
    gate = threading.Event()
    h.factory.then(gate=gate, name="first.wav").then(name="second.wav")
    h.c.start()
    try:
        h.c.submit(Cmd.TOGGLE)
        h.wait(lambda s: s.state is State.RECORDING, "recording")
        h.c.submit(Cmd.TOGGLE)
        h.wait(lambda s: s.state is State.FINISHING and s.pending == 1, "finishing")
        h.c.submit(Cmd.START)  # the first one's filing is blocked on the gate
        h.wait(lambda s: s.state is State.RECORDING and s.pending == 1, "second recording")
        h.c.submit(stop)
        h.wait(lambda s: s.state is State.FINISHING and s.pending == 2, "second stopped while the first is filed")
        first, second = h.factory.made
        assert second.result is not None and not first.finished  # the capture stopped; the first is still filing
        gate.set()
        h.wait(lambda s: s.state is State.IDLE and len(s.recent) == 2, "both filed")
        assert [p.name for p in h.c.snapshot.recent] == ["second.wav", "first.wav"]
        assert len(h.factory.made) == 2  # the stop did not start a third recording
    finally:
        gate.set()
        h.c.submit(Cmd.QUIT)
        assert h.c.wait_exit(WAIT)
        h.c.join(WAIT)


def test_quit_finishes_the_recording_before_exiting(tmp_path):
    h = Harnessless(tmp_path, threaded=True)
    gate = threading.Event()
    h.factory.then(gate=gate, name="last.wav")
    h.c.start()
    h.c.submit(Cmd.TOGGLE)
    h.wait(lambda s: s.state is State.RECORDING, "recording")
    h.c.submit(Cmd.QUIT)
    h.wait(lambda s: s.quitting and s.state is State.FINISHING, "quitting")
    h.c.submit(Cmd.TOGGLE)  # ignored once quitting
    assert not h.c.wait_exit(0.2)  # still filing (gate closed): must not have exited
    assert h.exits == 0
    gate.set()
    assert h.c.wait_exit(WAIT)
    h.c.join(WAIT)
    assert h.exits == 1
    assert (h.folder / "last.wav").exists()
    assert len(h.factory.made) == 1


def test_real_recording_with_a_fake_source_files_the_tone(tmp_path):
    """The controller driving trayrip.api.Recording end to end (capture, trim, file)."""
    from trayrip.api import Recording

    rate = 48000
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    signal = np.concatenate([np.zeros(rate // 2), tone, np.zeros(rate // 2)])
    stereo = np.stack([signal, signal], axis=1).astype(np.float32)
    sources = []

    def factory(options):
        src = FakeSource(stereo, rate, speed=None)
        sources.append(src)
        return Recording(options, source=src)

    folder = tmp_path / "out"
    c = Controller(Config(folder=str(folder)), recording_factory=factory, tick=0.05)
    states = []
    done = threading.Event()

    def on(snap):
        states.append(snap.state)
        if snap.state is State.IDLE and snap.recent:
            done.set()

    c.subscribe(on)
    c.start()
    try:
        c.submit(Cmd.TOGGLE)
        deadline = time.monotonic() + WAIT
        while not (sources and sources[0].wait(0.05)) and time.monotonic() < deadline:
            pass
        c.submit(Cmd.TOGGLE)
        assert done.wait(WAIT), states
        path = c.snapshot.recent[0]
        data, sr = sf.read(path)
        assert sr == rate and path.parent == folder
        assert 0.9 < len(data) / rate < 1.6  # trimmed to the tone plus pads
        spectrum = np.abs(np.fft.rfft(data[:, 0]))
        assert abs(np.argmax(spectrum) * rate / len(data) - 1000) < 5
    finally:
        c.submit(Cmd.QUIT)
        assert c.wait_exit(WAIT)
        c.join(WAIT)


# ---------------------------------------------------------------- settings

def test_set_changes_saves_and_applies_to_the_next_recording(tmp_path):
    store = ConfigStore(tmp_path / "cfg" / "config.toml")
    h = Harnessless(tmp_path, store=store)
    snap = h.send((Cmd.SET, ("format", "flac")), (Cmd.SET, ("trim", False)), (Cmd.SET, ("threshold_db", -40.0)))
    assert (snap.config.format, snap.config.trim, snap.config.threshold_db) == ("flac", False, -40.0)
    assert ConfigStore(store.path).load().config == snap.config
    h.send(Cmd.TOGGLE)
    opts = h.factory.made[0].options
    assert (opts.format, opts.trim, opts.silence.threshold_db) == ("flac", False, -40.0)


def test_a_bad_setting_is_refused_with_a_message_naming_the_key(tmp_path):
    store = ConfigStore(tmp_path / "config.toml")
    h = Harnessless(tmp_path, store=store)
    snap = h.send((Cmd.SET, ("threshold_db", 12)))
    assert snap.config == Config()
    summary, body, error = h.notes.items[-1]
    assert summary == "trayrip: setting not changed" and "threshold_db" in body and error
    assert not store.path.exists()


def test_changing_the_hotkey_rebinds_it_and_shows_problems(tmp_path):
    problems = {"<ctrl>+<alt>+r": "This is a Wayland session: ..."}
    calls = []

    def rebind(text):
        calls.append(text)
        return problems.get(text)

    h = Harnessless(tmp_path, rebind_hotkey=rebind)
    snap = h.send((Cmd.SET, ("hotkey", "Ctrl+Alt+R")))
    assert calls == ["<ctrl>+<alt>+r"] and snap.config.hotkey == "<ctrl>+<alt>+r"
    assert snap.hotkey_problem == "This is a Wayland session: ..."
    snap = h.send((Cmd.SET, ("hotkey", "<ctrl>+<shift>+<f12>")))
    assert snap.hotkey_problem is None
    snap = h.send((Cmd.SET, ("hotkey", "banana")))
    assert snap.config.hotkey == "<ctrl>+<shift>+<f12>" and len(calls) == 2
    assert "hotkey" in h.notes.items[-1][1]


def test_notifications_setting_reaches_the_notifier(tmp_path):
    seen = []
    h = Harnessless(tmp_path, on_notifications=seen.append)
    h.send((Cmd.SET, ("notifications", False)))
    assert seen == [False]


def test_reload_picks_up_hand_edits_and_reports_problems(tmp_path):
    store = ConfigStore(tmp_path / "config.toml")
    h = Harnessless(tmp_path, store=store)
    store.path.write_text('format = "mp3"\nhotkey = "<ctrl>+<alt>+r"\n')
    snap = h.send(Cmd.RELOAD_CONFIG)
    assert snap.config.format == "mp3" and h.rebinds == ["<ctrl>+<alt>+r"]
    assert h.notes.items[-1][0] == "trayrip: settings reloaded"
    store.path.write_text("format = [\n")
    snap = h.send(Cmd.RELOAD_CONFIG)
    assert snap.config.format == "mp3" and snap.config.hotkey == "<ctrl>+<alt>+r"  # what worked is kept
    assert "line 1 is not valid TOML" in snap.config_problem and "keeping 'mp3'" in snap.config_problem
    assert h.notes.items[-1][0] == "trayrip: problem in the config file"
    assert store.path.read_text() == "format = [\n"


def test_a_hand_edited_file_applies_to_the_next_recording_without_reload(tmp_path):
    store = ConfigStore(tmp_path / "config.toml")
    store.save(Config())
    h = Harnessless(tmp_path, store=store)
    st = store.path.stat()
    store.path.write_text('format = "ogg"\n')
    os.utime(store.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    h.send(Cmd.TOGGLE)
    assert h.factory.made[0].options.format == "ogg"


def test_edit_config_writes_defaults_then_opens_it(tmp_path):
    store = ConfigStore(tmp_path / "cfg" / "config.toml")
    h = Harnessless(tmp_path, store=store)
    h.send(Cmd.EDIT_CONFIG)
    assert h.opened == [store.path] and store.path.exists()


def test_edit_config_never_overwrites_a_broken_file(tmp_path):
    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text("broken = [\n")
    result = store.load()
    h = Harnessless(tmp_path, store=store, config=result.config, config_problem="; ".join(result.problems))
    h.send(Cmd.EDIT_CONFIG)
    assert store.path.read_text() == "broken = [\n" and h.opened == [store.path]
    assert h.notes.items[0][0] == "trayrip: problem in the config file"


def test_open_folder_creates_it(tmp_path):
    h = Harnessless(tmp_path, config=Config(folder=str(tmp_path / "new" / "place")))
    h.send(Cmd.OPEN_FOLDER)
    assert h.opened == [tmp_path / "new" / "place"] and h.opened[0].is_dir()


def test_recent_recordings_are_found_at_start(tmp_path):
    h = Harnessless(tmp_path)
    for i, name in enumerate(["a.wav", "b.flac", ".hidden.wav", ".trayrip-x.wav.part", "notes.txt", "c.mp3"]):
        p = h.folder / name
        p.write_bytes(b"x")
        os.utime(p, (1000 + i, 1000 + i))
    snap = h.send()
    assert [p.name for p in snap.recent] == ["c.mp3", "b.flac", "a.wav"]


def test_device_scan_runs_off_the_controller_thread(tmp_path):
    threads = []

    def lister():
        threads.append(threading.current_thread().name)
        return [DeviceChoice("sink.monitor", "Monitor of Sink"), DeviceChoice("mic", "Microphone")]

    h = Harnessless(tmp_path, device_lister=lister)
    h.send(Cmd.REFRESH_DEVICES)
    deadline = time.monotonic() + WAIT
    while not h.c.snapshot.devices and time.monotonic() < deadline:
        time.sleep(0.01)
        h.c.run_pending()
    assert [d.value for d in h.c.snapshot.devices] == ["sink.monitor", "mic"]
    assert threads == ["trayrip-devices"]


def test_device_scan_errors_become_a_note(tmp_path):
    def lister():
        raise CaptureError("no sound server")

    h = Harnessless(tmp_path, device_lister=lister)
    h.send(Cmd.REFRESH_DEVICES)
    deadline = time.monotonic() + WAIT
    while not h.c.snapshot.devices_note and time.monotonic() < deadline:
        time.sleep(0.01)
        h.c.run_pending()
    assert h.c.snapshot.devices_note == "no sound server"


# ---------------------------------------------------------------- second instance

def test_single_instance_lock_and_toggle_message(tmp_path):
    from trayrip.desktop.app import _instance_handler
    from trayrip.desktop.instance import InstanceLock, NotRunning, ask_running

    h = Harnessless(tmp_path)
    first = InstanceLock(tmp_path / "run")
    assert first.acquire()
    second = InstanceLock(tmp_path / "run")
    assert not second.acquire()
    assert second.running_pid() == os.getpid()
    first.serve(_instance_handler(h.c, h.notes))
    try:
        assert ask_running("toggle", tmp_path / "run") == "asked it to start recording"
        assert h.send().state is State.RECORDING
        assert ask_running("status", tmp_path / "run") == "recording"
        assert ask_running("toggle", tmp_path / "run") == "asked it to stop recording"
        assert h.send().state is State.IDLE
        assert ask_running("stop", tmp_path / "run") == "not recording"
        assert ask_running("start", tmp_path / "run") == "asked it to start recording"
        assert h.send().state is State.RECORDING
        assert ask_running("start", tmp_path / "run") == "already recording"
        assert ask_running("stop", tmp_path / "run") == "asked it to stop recording"
        assert h.send().state is State.IDLE
        # launched again (the applications menu): a notification, nothing started (issue 20, defect 10)
        assert "nothing was started" in ask_running("launched", tmp_path / "run")
        assert h.send().state is State.IDLE
        summary, body, _ = h.notes.items[-1]
        assert summary == "trayrip is already running"
        assert "Nothing was started" in body and "trayrip toggle" in body and "Ctrl+Alt+Shift+R" in body
    finally:
        first.close()
    assert second.acquire()  # released
    second.close()
    with pytest.raises(NotRunning, match="trayrip is not running"):
        ask_running("toggle", tmp_path / "run", timeout=1)


def test_runtime_dir_is_private(tmp_path, monkeypatch):
    from trayrip.desktop.instance import runtime_dir

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    d = runtime_dir()
    assert d.is_dir() and d.parent == tmp_path
    if os.name == "posix":
        assert d.stat().st_mode & 0o777 == 0o700


# ---------------------------------------------------------------- tray menu -> commands (fake pystray)

class FakeItem:
    def __init__(self, text, action, checked=None, radio=False, default=False, visible=True, enabled=True):
        self.text, self.action, self.checked, self.radio = text, action, checked, radio
        self.default, self.enabled = default, enabled

    @property
    def submenu(self):
        return self.action if isinstance(self.action, FakeMenu) else None

    def is_checked(self):
        return self.checked(self) if callable(self.checked) else self.checked

    def click(self):
        self.action(None, self)


class FakeMenu:
    SEPARATOR = object()

    def __init__(self, *items):
        self.items = items


def _menu_tray(snap: Snapshot):
    from trayrip.desktop.tray import Tray

    tray = Tray.__new__(Tray)
    tray._pystray = SimpleNamespace(MenuItem=FakeItem, Menu=FakeMenu)
    tray._snap = snap
    tray.sent = []
    tray._submit = lambda cmd, payload=None: tray.sent.append((cmd, payload))
    tray.opened = []
    tray._opener = tray.opened.append
    tray._log_path = lambda: Path("/log/trayrip.log")
    tray._gtk = False
    return tray


def _find(items, text):
    for item in items:
        if item is FakeMenu.SEPARATOR:
            continue
        if item.text.startswith(text):
            return item
        if item.submenu is not None:
            found = _find(item.submenu.items, text)
            if found:
                return found
    return None


def test_menu_top_item_starts_and_stops_and_shows_the_hotkey():
    tray = _menu_tray(Snapshot())
    items = tray._menu_items()
    top = items[0]
    assert top.text == "Start recording (Ctrl+Alt+Shift+R)" and top.default
    top.click()
    assert tray.sent == [(Cmd.TOGGLE, None)]
    tray._snap = Snapshot(state=State.RECORDING, pending=1)
    items = tray._menu_items()
    assert items[0].text == "Stop recording (Ctrl+Alt+Shift+R)"
    assert _find(items, "Saving 1 recording").enabled is False


def test_menu_every_action_only_submits_a_command_or_opens_a_file():
    recent = (Path("/m/b.wav"), Path("/m/a.wav"))
    snap = Snapshot(recent=recent, devices=(DeviceChoice("mon", "Monitor of X"),), folder=Path("/m"))
    tray = _menu_tray(snap)
    items = tray._menu_items()
    for text, expected in [
        ("Open recordings folder", (Cmd.OPEN_FOLDER, None)),
        ("WAV", (Cmd.SET, ("format", "wav"))),
        ("FLAC", (Cmd.SET, ("format", "flac"))),
        ("Monitor of X", (Cmd.SET, ("device", "mon"))),
        ("What the computer plays", (Cmd.SET, ("device", ""))),
        ("Refresh device list", (Cmd.REFRESH_DEVICES, None)),
        ("Trim silence", (Cmd.SET, ("trim", False))),
        ("-40 dBFS", (Cmd.SET, ("threshold_db", -40.0))),
        ("Split into tracks", (Cmd.SET, ("split", True))),
        ("Split at track changes", (Cmd.SET, ("tracks", True))),
        ("Ctrl+Shift+F12", (Cmd.SET, ("hotkey", "<ctrl>+<shift>+<f12>"))),
        ("Other: edit the config file", (Cmd.EDIT_CONFIG, None)),
        ("Choose folder", (Cmd.EDIT_CONFIG, None)),  # no GTK: the config file instead
        ("Notifications", (Cmd.SET, ("notifications", False))),
        ("ReplayGain loudness tags", (Cmd.SET, ("replaygain", False))),
        ("Edit config file", (Cmd.EDIT_CONFIG, None)),
        ("Reload config file", (Cmd.RELOAD_CONFIG, None)),
        ("Quit", (Cmd.QUIT, None)),
    ]:
        tray.sent.clear()
        item = _find(items, text)
        assert item is not None, text
        item.click()
        assert tray.sent == [expected], text
    _find(items, "b.wav").click()
    _find(items, "Open log").click()
    assert tray.opened == [Path("/m/b.wav"), Path("/log/trayrip.log")]


def test_menu_radio_and_check_marks_follow_the_config():
    cfg = Config(format="mp3", threshold_db=-45.0, hotkey="<ctrl>+<alt>+<f5>", trim=False, device="custom", tracks=True)
    items = _menu_tray(Snapshot(config=cfg))._menu_items()
    assert _find(items, "Split at track changes").is_checked() and not _find(items, "Split into tracks").is_checked()
    assert _find(items, "MP3").is_checked() and not _find(items, "WAV").is_checked()
    assert not _find(items, "Trim silence").is_checked()
    assert _find(items, "ReplayGain loudness tags").is_checked()
    off = _menu_tray(Snapshot(config=Config(replaygain=False)))._menu_items()
    assert not _find(off, "ReplayGain loudness tags").is_checked()
    assert _find(items, "-45 dBFS (from the config)").is_checked()
    assert _find(items, "Ctrl+Alt+F5 (from the config)").is_checked()
    assert _find(items, "custom (from the config)").is_checked()
    assert _find(items, "Start recording (Ctrl+Alt+F5)")


def test_menu_shows_errors_and_problems():
    snap = Snapshot(state=State.ERROR, error="the sound server went away", hotkey_problem="This is a Wayland session",
                    config_problem="config.toml is not valid TOML")
    tray = _menu_tray(snap)
    items = tray._menu_items()
    status = _find(items, "Error: the sound server went away")  # one line, always at the same place
    assert status.text == ("Error: the sound server went away; Config: config.toml is not valid TOML; "
                           "Hotkey: This is a Wayland session")
    _find(items, "Clear error").click()
    status.click()  # the config file's problem: the line opens it
    assert tray.sent == [(Cmd.DISMISS, None), (Cmd.EDIT_CONFIG, None)]
    assert _find(_menu_tray(Snapshot())._menu_items(), "(none yet)").enabled is False


def test_quitting_disables_start():
    items = _menu_tray(Snapshot(state=State.FINISHING, quitting=True, pending=1))._menu_items()
    assert items[0].enabled is False


def test_tooltips():
    from trayrip.desktop.tray import tooltip

    assert tooltip(Snapshot()) == "trayrip: ready (Ctrl+Alt+Shift+R records)"
    assert tooltip(Snapshot(state=State.RECORDING, elapsed=83.9)) == "trayrip: recording 1:23 (Ctrl+Alt+Shift+R stops)"
    assert tooltip(Snapshot(state=State.RECORDING, elapsed=3723, pending=1)).startswith("trayrip: recording 1:02:03")
    assert "saving 1 earlier" in tooltip(Snapshot(state=State.RECORDING, pending=1))
    assert tooltip(Snapshot(state=State.FINISHING)).startswith("trayrip: saving the recording")
    assert tooltip(Snapshot(state=State.ERROR, error="disk full")) == "trayrip: error: disk full"


@pytest.mark.parametrize(
    "env, gtk, ai, sni, xembed, expected",
    [
        ({"PYSTRAY_BACKEND": "xorg"}, True, True, True, True, ["xorg"]),
        ({}, False, False, None, None, ["xorg"]),
        ({}, True, False, None, True, ["gtk", "xorg"]),
        ({}, True, True, True, True, ["appindicator", "gtk", "xorg"]),
        ({}, True, True, False, True, ["gtk", "appindicator", "xorg"]),
        ({}, True, True, None, True, ["gtk", "appindicator", "xorg"]),
        ({}, True, True, False, False, ["appindicator", "gtk", "xorg"]),
        ({}, True, True, None, None, ["appindicator", "gtk", "xorg"]),
    ],
)
def test_backend_choice(env, gtk, ai, sni, xembed, expected):
    from trayrip.desktop.tray import choose_backends

    order, reason = choose_backends(
        env, "linux", has_gtk=lambda: gtk, has_appindicator=lambda: ai, sni_host=lambda: sni, xembed_tray=lambda: xembed
    )
    assert order == expected and reason
    assert choose_backends({}, "darwin")[0] == ["darwin"]
    assert choose_backends({}, "win32")[0] == ["win32"]


def test_mailbox_keeps_only_the_newest_and_blocks_without_polling():
    from trayrip.desktop.tray import Mailbox

    box = Mailbox()
    box.put(1)
    box.put(2)
    assert box.get() == 2
    got = []
    t = threading.Thread(target=lambda: got.append(box.get()))
    t.start()
    box.put(3)
    t.join(WAIT)
    assert got == [3]
    t = threading.Thread(target=lambda: got.append(box.get()))
    t.start()
    box.close()
    t.join(WAIT)
    assert got == [3, None]


# ---------------------------------------------------------------- notifier

def test_notifier_falls_back_and_never_raises(caplog):
    from trayrip.desktop.notify import Notifier

    class Broken:
        name = "broken"

        def send(self, note):
            raise OSError("no bus")

    class Good:
        name = "good"

        def __init__(self):
            self.notes = []

        def send(self, note):
            self.notes.append(note)

    good = Good()

    def unavailable():
        raise ImportError("no gi")

    n = Notifier([unavailable, Broken, lambda: good])
    n.notify("Recording saved", "a.wav (0:03)")
    n.notify("trayrip: recording problem", "disk full", error=True)
    assert [(x.summary, x.error, x.icon) for x in good.notes] == [
        ("Recording saved", False, "idle"), ("trayrip: recording problem", True, "error")
    ]
    assert [how for how, _ in n.sent] == ["good", "good"]

    alone = Notifier([unavailable])
    alone.notify("x", "y")  # nothing works: logged only
    assert alone.sent[-1][0] == "log"
    fallback = []
    alone.set_fallback(lambda message, title: fallback.append((title, message)))
    alone.notify("t", "m")
    assert fallback == [("t", "m")]

    off = Notifier([lambda: good], enabled=False)
    off.notify("hidden")
    assert len(good.notes) == 2


def test_notifier_thread_sends_in_order_and_closes():
    from trayrip.desktop.notify import Notifier

    got = []

    class Good:
        name = "good"

        def send(self, note):
            got.append((threading.current_thread().name, note.summary))

    n = Notifier([Good]).start()
    for i in range(5):
        n.notify(f"n{i}")
    n.close(WAIT)
    assert got == [("trayrip-notify", f"n{i}") for i in range(5)]


def test_saved_notification_counts_what_was_left_out():
    from types import SimpleNamespace

    from trayrip.desktop.saved_text import saved_body

    paths = [Path("/m/s/01 A - x.flac"), Path("/m/s/02 B - y.flac")]
    body = saved_body(SimpleNamespace(left_out="left out: 2 ads, 1 track already in the folder"), paths, "7:00")
    assert body.startswith("2 tracks (7:00) in /m/s: 01 A - x.flac, 02 B - y.flac")
    assert body.endswith("\nLeft out: 2 ads, 1 track already in the folder")
    assert saved_body(SimpleNamespace(), paths[:1], "0:03") == "01 A - x.flac (0:03) in /m/s"
