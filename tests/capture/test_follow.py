"""FollowDefault with stand-ins for the server (fast; the real servers are in tests/system/test_follow_output_system.py)."""
from __future__ import annotations

import threading
import time

from trayrip.capture.base import AudioFormat, Block
from trayrip.capture.follow import FollowDefault, once
from trayrip.capture.stream_events import event_kind, is_stream_event
from trayrip.errors import CaptureError

import pytest

FMT = AudioFormat(48000, 2, 2)
WAIT = 10.0


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


class Inner:
    """A source on one monitor that delivers one block per ``push`` (test thread)."""

    def __init__(self, monitor: str, log: list):
        self.monitor, self.log = monitor, log
        self.format, self.description = FMT, monitor
        self.sink = None
        self.dead: str | None = None
        self.block_interval = 0.5

    def start(self, sink) -> None:
        self.log.append(("start", self.monitor))
        self.sink = sink

    def stop(self) -> None:
        self.log.append(("stop", self.monitor))
        self.sink = None

    def error(self) -> str | None:
        return self.dead

    def push(self) -> None:
        if self.sink is not None:
            self.sink(Block(self.monitor.encode(), 1, time.monotonic()))


class Watcher:
    """Stands in for StreamWatcher: the test fires ``on_change`` as a server event would."""

    made: list["Watcher"] = []

    def __init__(self, on_change, **kwargs):
        self.on_change, self.kwargs, self.stopped = on_change, kwargs, False
        Watcher.made.append(self)

    def start(self):
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self.stopped = True


@pytest.fixture
def server():
    Watcher.made.clear()

    class Server:
        default: str | None = "speakers.monitor"
        fail: bool = False
        log: list = []
        inners: dict = {}

        finds = 0

        def find(self):
            self.finds += 1
            if self.fail:
                raise CaptureError("no PulseAudio/PipeWire sound server is reachable")
            return self.default

        def open(self, monitor):
            inner = Inner(monitor, self.log)
            self.inners[monitor] = inner
            return inner

    s = Server()
    s.log, s.inners = [], {}
    return s


def make(server, reopen=True):
    got: list[bytes] = []
    src = FollowDefault(server.open, "speakers.monitor", find_monitor=server.find, reopen=reopen,
                        watcher_factory=Watcher)
    src.start(lambda b: got.append(b.data) or True)
    return src, got


def test_a_new_default_is_recorded_in_the_same_stream_and_the_old_one_stopped_first(server):
    src, got = make(server)
    watcher = Watcher.made[-1]
    assert watcher.kwargs["kinds"] == ("sink", "server")
    server.inners["speakers.monitor"].push()
    server.default = "headphones.monitor"
    watcher.on_change()
    wait_for(lambda: src.monitor == "headphones.monitor", "the switch")
    server.inners["headphones.monitor"].push()
    server.inners["speakers.monitor"].push()  # stopped: delivers nothing any more
    assert got == [b"speakers.monitor", b"headphones.monitor"]
    assert server.log == [("start", "speakers.monitor"), ("stop", "speakers.monitor"), ("start", "headphones.monitor")]
    assert [(a, b) for _, a, b in src.switches] == [("speakers.monitor", "headphones.monitor")]
    assert src.description == "headphones.monitor"
    src.stop()
    assert server.log[-1] == ("stop", "headphones.monitor") and watcher.stopped


def test_events_that_change_nothing_keep_the_stream(server):
    src, _ = make(server)
    for _ in range(3):
        Watcher.made[-1].on_change()
    wait_for(lambda: server.finds >= 1, "the follow thread to ask the server")
    src.stop()
    assert server.log == [("start", "speakers.monitor"), ("stop", "speakers.monitor")]
    assert src.switches == []


def test_a_lost_stream_waits_for_the_follow_thread_then_follows_the_new_default(server):
    src, _ = make(server)
    server.inners["speakers.monitor"].dead = "the capture stream from speakers stopped"
    server.default = "headphones.monitor"
    assert src.error() is None  # not yet a failure: the output may just have changed
    wait_for(lambda: src.monitor == "headphones.monitor", "the switch")
    assert src.error() is None
    src.stop()


def test_a_lost_stream_with_no_server_coming_back_fails_with_the_reason(server):
    src, _ = make(server)
    src.patience = 0.2  # 15 s in real life
    server.inners["speakers.monitor"].dead = "the capture stream from speakers stopped"
    server.fail = True
    assert src.error() is None
    wait_for(lambda: src.error() is not None, "the failure")
    assert src.error() == ("the capture stream from speakers stopped, "
                           "and the sound server did not come back within 0 s")
    src.stop()


def test_pipewire_only_logs_the_move(server):
    src, got = make(server, reopen=False)
    server.default = "headphones.monitor"
    Watcher.made[-1].on_change()
    wait_for(lambda: src.switches, "the switch to be noticed")
    assert server.log == [("start", "speakers.monitor")]  # WirePlumber moves the stream itself
    server.inners["speakers.monitor"].push()
    assert got == [b"speakers.monitor"]
    src.stop()


def test_a_pace_asked_of_the_source_carries_over_to_the_next_stream(server):
    src, _ = make(server)
    src.block_interval = 0.1
    server.default = "headphones.monitor"
    Watcher.made[-1].on_change()
    wait_for(lambda: src.monitor == "headphones.monitor", "the switch")
    assert server.inners["headphones.monitor"].block_interval == 0.1 == src.block_interval
    src.stop()


def test_once_asks_once_and_repeats_an_error():
    calls = []
    ask = once(lambda: calls.append(1) or len(calls))
    assert ask() == ask() == 1
    fails = once(lambda: (_ for _ in ()).throw(CaptureError("no server")))
    for _ in range(2):
        with pytest.raises(CaptureError):
            fails()


def test_event_kinds():
    assert event_kind(b"Event 'change' on server #4294967295") == "server"
    assert event_kind(b"Event 'remove' on sink #3") == "sink"
    assert event_kind(b"Event 'new' on sink-input #12") == "sink-input" and is_stream_event(b"Event 'new' on sink-input #12")
    assert not is_stream_event(b"Event 'remove' on sink #3")
    assert event_kind(b"Event 'new' on client #7") is None


@pytest.mark.parametrize("reopen", [True, False], ids=["pulseaudio", "pipewire"])
def test_a_server_that_comes_back_is_recorded_again_in_the_same_stream(server, reopen):
    src, got = make(server, reopen=reopen)
    first = server.inners["speakers.monitor"]
    first.dead = "the capture stream from speakers stopped (device or sound server lost)"
    server.fail = True  # restarting
    assert src.error() is None
    wait_for(lambda: server.finds >= 3, "a few looks while the server is away")
    assert src.error() is None and src.switches == []
    server.fail = False  # back, same default
    wait_for(lambda: server.inners["speakers.monitor"] is not first, "a new stream on the same monitor")
    server.inners["speakers.monitor"].push()
    assert got == [b"speakers.monitor"] and src.error() is None
    assert server.log == [("start", "speakers.monitor"), ("stop", "speakers.monitor"), ("start", "speakers.monitor")]
    src.stop()


def test_a_stream_that_ends_while_nobody_asks_is_noticed_by_itself(server):
    """Pre-roll between taps, or a short recording: nobody calls error(), the follow thread looks anyway."""
    src, _ = make(server)
    first = server.inners["speakers.monitor"]
    first.dead = "the capture stream from speakers stopped (device or sound server lost)"
    wait_for(lambda: server.inners["speakers.monitor"] is not first, "a new stream without anyone asking")
    src.stop()
