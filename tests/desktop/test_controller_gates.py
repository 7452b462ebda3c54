"""The controller with pre-roll, Arm and stop on silence: real Recordings on the fake source (no display).

Threaded controller and filer; tests wait for snapshots and for the fake
source's position, never for wall-clock time.
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
from trayrip.recording.preroll import SharedStream

RATE = 48000
WAIT = 30.0


def signal(*parts: tuple[float, float]) -> np.ndarray:
    """Concatenate (seconds, amplitude) pieces of a 1 kHz tone (amplitude 0 = silence)."""
    out = []
    for seconds, amp in parts:
        t = np.arange(round(seconds * RATE)) / RATE
        out.append(amp * np.sin(2 * np.pi * 1000 * t))
    x = np.concatenate(out).astype(np.float32)
    return np.stack([x, x], axis=1)


class Run:
    def __init__(self, tmp_path, config: Config, **kw):
        self.folder = tmp_path / "out"
        self.snaps = []
        self.cond = threading.Condition()
        self.notes = []
        self.c = Controller(config.__class__(**{**config.__dict__, "folder": str(self.folder)}),
                            notify=lambda s, b="", **k: self.notes.append(s), tick=0.05, **kw)
        self.c.subscribe(self._on)

    def _on(self, snap):
        with self.cond:
            self.snaps.append(snap)
            self.cond.notify_all()

    def wait(self, pred, what):
        with self.cond:
            assert self.cond.wait_for(lambda: any(pred(s) for s in self.snaps), WAIT), \
                f"{what}: states {[s.state.value for s in self.snaps][-20:]}"

    def states(self):
        out = []
        for s in self.snaps:
            if not out or out[-1] is not s.state:
                out.append(s.state)
        return out

    def __enter__(self):
        self.c.start()
        return self

    def __exit__(self, *exc):
        self.c.submit(Cmd.QUIT)
        assert self.c.wait_exit(WAIT)
        self.c.join(WAIT)


def wait_position(src: FakeSource, seconds: float) -> None:
    deadline = time.monotonic() + WAIT
    while src.delivered < round(seconds * RATE):
        assert time.monotonic() < deadline, "the fake source stalled"
        threading.Event().wait(0.01)


def onset(data: np.ndarray, threshold: float = 0.05) -> float:
    return np.flatnonzero(np.abs(data[:, 0]) > threshold)[0] / RATE


def test_preroll_puts_the_sound_before_the_press_into_the_recording(tmp_path):
    sig = signal((1.0, 0.0), (4.0, 0.5), (1.0, 0.0))
    sources = []

    def preroll_factory(options, seconds, on_lost):
        src = FakeSource(sig, RATE, speed=4.0, blocksize=960)
        sources.append(src)
        return SharedStream(src, seconds, on_lost).start()

    with Run(tmp_path, Config(preroll_seconds=5.0), recording_factory=Recording,
             preroll_factory=preroll_factory) as r:
        r.wait(lambda s: s.preroll == 5.0 and s.preroll_bytes == 5 * RATE * 4, "pre-roll listening")
        src = sources[0]
        wait_position(src, 2.5)  # the tone began 1.5 s before the press
        r.c.submit(Cmd.TOGGLE)
        r.wait(lambda s: s.state is State.RECORDING, "recording")
        wait_position(src, 4.5)
        r.c.submit(Cmd.TOGGLE)
        r.wait(lambda s: s.state is State.IDLE and s.recent, "filed")
        path = r.c.snapshot.recent[0]
        r.wait(lambda s: s.preroll == 5.0 and s.state is State.IDLE, "pre-roll listening again")
    data, _ = sf.read(path)
    # the file starts at the tone's onset (plus the 0.1 s pad), not at the press
    assert abs(onset(data) - 0.1) <= 0.011
    assert len(data) / RATE >= 3.4  # 1.5 s before the press + 2 s after it


def test_save_last_seconds_files_the_buffer(tmp_path):
    sig = signal((0.5, 0.0), (1.0, 0.5), (20.0, 0.0))
    sources = []

    def preroll_factory(options, seconds, on_lost):
        src = FakeSource(sig, RATE, speed=4.0, blocksize=960)
        sources.append(src)
        return SharedStream(src, seconds, on_lost).start()

    with Run(tmp_path, Config(preroll_seconds=10.0), recording_factory=Recording,
             preroll_factory=preroll_factory) as r:
        r.wait(lambda s: s.preroll == 10.0, "pre-roll listening")
        wait_position(sources[0], 3.0)
        r.c.submit(Cmd.SAVE_PREROLL)
        r.wait(lambda s: s.state is State.IDLE and s.recent, "filed")
        assert State.FINISHING in r.states()
        path = r.c.snapshot.recent[0]
    data, _ = sf.read(path)
    assert abs(len(data) / RATE - 1.4) <= 0.011  # the tone + pads, trimmed
    assert "Recording saved" in r.notes


def test_save_last_seconds_without_preroll_files_nothing(tmp_path):
    with Run(tmp_path, Config(), recording_factory=Recording) as r:
        r.c.submit(Cmd.SAVE_PREROLL)
        r.wait(lambda s: s.state is State.IDLE and "Nothing recorded" in r.notes, "told")
    assert not r.folder.exists() or not list(r.folder.iterdir())


def test_arm_waits_records_the_burst_and_stops_on_silence(tmp_path):
    sig = signal((1.5, 0.0), (0.5, 0.5), (10.0, 0.0))
    sources = []

    def factory(options):
        src = FakeSource(sig, RATE, speed=4.0, blocksize=960)
        sources.append(src)
        return Recording(options, source=src)

    with Run(tmp_path, Config(stop_on_silence=1.0), recording_factory=factory) as r:
        r.c.submit(Cmd.ARM)
        r.wait(lambda s: s.state is State.ARMED, "armed")
        r.wait(lambda s: s.state is State.IDLE and s.recent, "filed after the silence")
        assert r.states()[:4] == [State.IDLE, State.ARMED, State.RECORDING, State.FINISHING]
        assert sources[0].delivered < sig.shape[0]  # it stopped by itself
        path = r.c.snapshot.recent[0]
    data, _ = sf.read(path)
    assert abs(len(data) / RATE - 0.9) <= 0.011
    assert abs(onset(data) - 0.1) <= 0.011


def test_disarming_before_any_sound_files_nothing(tmp_path):
    sig = signal((30.0, 0.0))
    sources = []

    def factory(options):
        src = FakeSource(sig, RATE, speed=4.0, blocksize=960)
        sources.append(src)
        return Recording(options, source=src)

    with Run(tmp_path, Config(), recording_factory=factory) as r:
        r.c.submit(Cmd.ARM)
        r.wait(lambda s: s.state is State.ARMED, "armed")
        wait_position(sources[0], 2.0)
        r.c.submit(Cmd.ARM)
        r.wait(lambda s: s.state is State.IDLE and len(r.states()) >= 3, "disarmed")
        assert r.c.snapshot.pending == 0
    assert not [p for p in r.folder.iterdir()]
    assert "Nothing recorded" not in r.notes


def test_preroll_follows_the_settings_and_a_lost_stream_is_reported(tmp_path):
    opened = []

    def preroll_factory(options, seconds, on_lost):
        # the second stream "loses its device" after 1 s of audio
        fail = RATE if opened else None
        src = FakeSource(signal((60.0, 0.0)), RATE, speed=4.0, blocksize=960, fail_after=fail)
        opened.append((options.device, seconds))
        return SharedStream(src, seconds, on_lost).start()

    with Run(tmp_path, Config(), recording_factory=Recording, preroll_factory=preroll_factory) as r:
        r.c.submit(Cmd.SET, ("preroll_seconds", 20.0))
        r.wait(lambda s: s.preroll == 20.0 and s.preroll_bytes == 20 * RATE * 4, "pre-roll on")
        r.c.submit(Cmd.SET, ("device", "other.monitor"))  # pre-roll follows the chosen source
        r.wait(lambda s: s.config.device == "other.monitor", "device set")
        assert opened == [(None, 20.0), ("other.monitor", 20.0)]
        r.wait(lambda s: s.preroll == 0.0 and "trayrip: pre-roll stopped" in r.notes, "lost stream reported")
        r.c.submit(Cmd.SET, ("preroll_seconds", 0.0))
        r.c.submit(Cmd.SET, ("preroll_seconds", 10.0))
        r.wait(lambda s: s.preroll == 10.0, "pre-roll on again")
        r.c.submit(Cmd.SET, ("preroll_seconds", 0.0))
        r.wait(lambda s: s.preroll == 0.0 and s.config.preroll_seconds == 0.0, "pre-roll off")


# ---------------------------------------------------------------- menu and tooltip

def test_menu_arm_save_and_settings_items():
    from test_controller import _find, _menu_tray

    from trayrip.desktop.controller import Snapshot
    from trayrip.desktop.tray import tooltip

    tray = _menu_tray(Snapshot())
    items = tray._menu_items()
    arm = _find(items, "Arm: record when sound starts")
    assert not arm.is_checked() and _find(items, "Save last seconds (pre-roll is off)").enabled is False
    arm.click()
    assert tray.sent == [(Cmd.ARM, None)]
    pre = _find(items, "Pre-roll: keep the last seconds").submenu.items
    labels = [i.text for i in pre]
    assert labels[0] == "Off" and "30 s (30 × 48000 × 2 × 2 B = 5.8 MB)" in labels
    [i for i in pre if i.text.startswith("120 s")][0].click()
    assert tray.sent[-1] == (Cmd.SET, ("preroll_seconds", 120.0))
    _find(items, "after 5 s").click()
    assert tray.sent[-1] == (Cmd.SET, ("stop_on_silence", 5.0))

    snap = Snapshot(state=State.IDLE, preroll=30.0, preroll_bytes=5_760_000, config=Config(preroll_seconds=30.0))
    tray._snap = snap
    items = tray._menu_items()
    _find(items, "Save last 30 seconds").click()
    assert tray.sent[-1] == (Cmd.SAVE_PREROLL, None)
    assert "pre-roll listening (last 30 s, 5.8 MB)" in tooltip(snap)

    tray._snap = Snapshot(state=State.ARMED)
    items = tray._menu_items()
    assert items[0].text.startswith("Stop waiting") and _find(items, "Arm:").is_checked()
    assert "armed, waiting for sound" in tooltip(tray._snap)
