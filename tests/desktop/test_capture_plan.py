"""One capture plan per start: the pre-roll stream follows "Record from" and the device (issue 20, defect 1).

Real Recordings and SharedStreams on fake sources (no display, no server);
each fake source stands for one thing a stream can listen to and plays its
own tone level, so the filed file shows which stream the recording took.
"""
from __future__ import annotations

import numpy as np
import soundfile as sf

from test_controller_gates import RATE, Run, signal, wait_position
from trayrip.api import Recording
from trayrip.capture.fake import FakeSource
from trayrip.config import Config, ConfigStore
from trayrip.desktop import capture_plan
from trayrip.desktop.controller import Cmd
from trayrip.desktop.state import State
from trayrip.desktop.tray import tooltip
from trayrip.recording.preroll import SharedStream

LEVEL = {None: 0.5, "mpv": 0.125}  # all audio (with the decoy) is loud; the app alone is quiet


def test_plan_keys_and_labels():
    every = capture_plan.resolve(Config(preroll_seconds=10.0))
    app = capture_plan.resolve(Config(preroll_seconds=10.0, app="mpv"))
    assert every.label == "all system audio" and app.label == "application 'mpv'"
    assert capture_plan.resolve(Config(device="x.monitor")).label == "device 'x.monitor'"
    assert every.serves(every.warm_key) and not app.serves(every.warm_key) and not every.serves(app.warm_key)
    assert capture_plan.resolve(Config()).warm_key is None  # pre-roll off: nothing warm
    assert capture_plan.resolve(Config(app="mpv"), armed=True).options.wait_for_sound
    assert app.all_audio().label == "all system audio"
    # format and the other filing settings do not bind the stream
    assert capture_plan.resolve(Config(preroll_seconds=10.0, format="flac")).serves(every.warm_key)
    assert not capture_plan.resolve(Config(preroll_seconds=10.0, bits=24)).serves(every.warm_key)


class Sources:
    """The pre-roll factory: one fake stream per plan, its level telling which source it is."""

    def __init__(self):
        self.opened: list[tuple[str | None, float]] = []
        self.fakes: list[FakeSource] = []

    def __call__(self, options, seconds, on_lost):
        src = FakeSource(signal((120.0, LEVEL[options.app])), RATE, speed=4.0, blocksize=960)
        self.opened.append((options.app, seconds))
        self.fakes.append(src)
        return SharedStream(src, seconds, on_lost).start()


def record_once(r: Run, src: FakeSource) -> np.ndarray:
    at = src.delivered / RATE
    r.c.submit(Cmd.TOGGLE)
    r.wait(lambda s: s.state is State.RECORDING, "recording")
    wait_position(src, at + 1.0)
    r.c.submit(Cmd.TOGGLE)
    before = set(r.c.snapshot.recent)
    r.wait(lambda s: s.state is State.IDLE and set(s.recent) - before, "filed")
    [path] = set(r.c.snapshot.recent) - before
    data, _ = sf.read(path)
    return data


def peak(data: np.ndarray) -> float:
    return float(np.max(np.abs(data)))


def test_record_from_chosen_while_preroll_runs_reopens_the_stream_on_the_app_and_back(tmp_path):
    sources = Sources()
    with Run(tmp_path, Config(preroll_seconds=10.0), recording_factory=Recording, preroll_factory=sources) as r:
        r.wait(lambda s: s.preroll == 10.0, "pre-roll listening")
        wait_position(sources.fakes[0], 1.0)
        r.c.submit(Cmd.SET, ("app", "mpv"))  # Settings > Record from > mpv
        r.wait(lambda s: s.config.app == "mpv" and "re-opened" in s.source, "pre-roll re-opened on the app")
        assert sources.opened == [(None, 10.0), ("mpv", 10.0)]
        snap = r.c.snapshot
        assert "pre-roll listening to application 'mpv', re-opened for the new settings: its buffer restarted" \
            in tooltip(snap)
        wait_position(sources.fakes[1], 0.5)
        data = record_once(r, sources.fakes[1])
        assert abs(peak(data) - LEVEL["mpv"]) < 0.01, "the file holds all audio, not the chosen application"
        assert any(s.state is State.RECORDING and s.source == "application 'mpv'" for s in r.snaps)

        r.c.submit(Cmd.SET, ("app", ""))  # ... and back to "All system audio"
        r.wait(lambda s: s.config.app == "" and s.source.startswith("all system audio, re-opened"), "re-opened")
        assert sources.opened[-1] == (None, 10.0)
        wait_position(sources.fakes[-1], 0.5)
        data = record_once(r, sources.fakes[-1])
        assert abs(peak(data) - LEVEL[None]) < 0.01, "the file holds the application only, not all audio"


def test_reload_config_file_reopens_the_preroll_stream_on_the_new_plan(tmp_path):
    sources = Sources()
    store = ConfigStore(tmp_path / "config.toml")
    store.path.write_text("preroll_seconds = 10.0\n")
    with Run(tmp_path, store.load().config, recording_factory=Recording, preroll_factory=sources,
             store=store) as r:
        r.wait(lambda s: s.preroll == 10.0, "pre-roll listening")
        store.path.write_text(f"preroll_seconds = 10.0\napp = 'mpv'\nfolder = '{r.folder}'\n")
        r.c.submit(Cmd.RELOAD_CONFIG)
        r.wait(lambda s: s.config.app == "mpv" and s.preroll == 10.0 and "mpv" in s.source, "reloaded")
        assert sources.opened == [(None, 10.0), ("mpv", 10.0)]
        wait_position(sources.fakes[1], 0.5)
        data = record_once(r, sources.fakes[1])
        assert abs(peak(data) - LEVEL["mpv"]) < 0.01


def test_disarming_with_preroll_files_nothing_and_the_preroll_goes_on(tmp_path):
    """Issue 20, item 6: Arm takes the warm stream (quiet audio below the threshold); disarming files
    nothing -- no file, no hidden capture file, no notification -- and gives the stream back."""
    quiet = signal((120.0, 0.001))  # -60 dBFS: below the -50 dBFS threshold, not digital silence

    def preroll_factory(options, seconds, on_lost):
        return SharedStream(FakeSource(quiet, RATE, speed=4.0, blocksize=960), seconds, on_lost).start()

    with Run(tmp_path, Config(preroll_seconds=5.0), recording_factory=Recording, preroll_factory=preroll_factory) as r:
        r.wait(lambda s: s.preroll == 5.0, "pre-roll listening")
        stream = r.c._preroll
        wait_position(stream.source, 2.0)
        r.c.submit(Cmd.ARM)
        r.wait(lambda s: s.state is State.ARMED, "armed")
        assert stream.tapped
        wait_position(stream.source, 4.0)
        armed = r.c.snapshot.seq
        r.c.submit(Cmd.ARM)
        r.wait(lambda s: s.state is State.IDLE and s.seq > armed, "disarmed")
        assert r.c._preroll is stream and not stream.tapped and stream.running  # the same stream goes on
        assert r.c.snapshot.pending == 0
    assert not r.folder.exists() or not list(r.folder.iterdir())
    assert r.notes == ["Armed: waiting for sound"], r.notes  # and nothing about a file


def test_stop_on_silence_counts_from_the_recordings_start_not_from_the_preroll(tmp_path):
    """Issue 20, item 6: 3.5 s of silence held in the pre-roll buffer must not end a recording whose
    stop-on-silence is 2 s the moment it starts: its 2 s count from the press."""
    import threading

    src = FakeSource(signal((0.5, 0.5), (60.0, 0.0)), RATE, speed=4.0, blocksize=960)
    stream = SharedStream(src, 10.0).start()
    try:
        wait_position(src, 4.0)  # the ring: 0.5 s of tone, then 3.5 s of silence
        rec = Recording(folder=tmp_path, stop_on_silence=2.0, source=stream.tap())
        reached = threading.Event()
        seen = {}

        def on_event(kind):
            if kind == "silence":
                seen["at"] = src.delivered
                reached.set()

        rec.on_event = on_event
        rec.start()
        assert reached.wait(30), "stop on silence never came"
        preroll = len(rec._source.preroll) // 4
        assert preroll >= round(3.9 * RATE)
        assert seen["at"] - preroll >= round(2.0 * RATE) - 960, "stopped on the pre-roll's silence"
        assert rec._recorder.silence_at == preroll  # counted from the press
        rec.stop_capture()
    finally:
        stream.close()


def test_the_start_notification_and_tooltip_name_the_source_and_the_current_track(tmp_path):
    """Issue 20, item 4."""
    from trayrip.nowplaying.metadata import PlayerEvent, TrackInfo
    from trayrip.playertracks import TrackFollower

    class Playing(Recording):
        now_playing = "02 Bob — Second Wind"

    def factory(options):
        return Playing(options, source=FakeSource(signal((60.0, 0.2)), RATE, speed=4.0, blocksize=960))

    bodies = []
    with Run(tmp_path, Config(), recording_factory=factory) as r:
        r.c._notify = lambda summary, body="", **k: bodies.append((summary, body))
        r.c.submit(Cmd.TOGGLE)
        r.wait(lambda s: s.state is State.RECORDING and "Second Wind" in s.source, "the track in the tooltip")
        snap = r.c.snapshot
        assert snap.source == "all system audio — 02 Bob — Second Wind"
        assert "recording 0:0" in tooltip(snap) and "from all system audio — 02 Bob — Second Wind" in tooltip(snap)
        r.c.submit(Cmd.TOGGLE)
        r.wait(lambda s: s.state is State.IDLE and s.recent, "filed")
    assert bodies[0] == ("Recording started", "from fake source")

    follower = TrackFollower()
    assert follower.now_playing == ""
    follower.watcher.latest = PlayerEvent("track", 1.0, "p", "Playing", TrackInfo("/2", "Second Wind", "Bob", track=2))
    assert follower.now_playing == "02 Bob — Second Wind"
    follower.watcher.latest = PlayerEvent("track", 1.0, "p", "Playing", TrackInfo("/x", "Jingle"))
    assert follower.now_playing == "Jingle"
