"""The stream watcher behind the tray's live "Record from" list, against a fake ``pactl
subscribe`` (the real one is used by the tray system test)."""
from __future__ import annotations

import sys
import textwrap
import threading
import time

import pytest

from trayrip.capture.stream_events import StreamWatcher, is_stream_event

WAIT = 20.0


def fake_pactl(tmp_path, body: str) -> str:
    exe = tmp_path / "pactl"
    exe.write_text(f"#!{sys.executable}\nimport os, sys, time\n" + textwrap.dedent(body))
    exe.chmod(0o700)
    return str(exe)


def wait_for(predicate, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Calls:
    def __init__(self):
        self.n = 0
        self.threads: set[str] = set()

    def __call__(self) -> None:
        self.n += 1
        self.threads.add(threading.current_thread().name)


def test_a_burst_of_stream_events_is_one_call_and_other_events_none(tmp_path):
    go = tmp_path / "go"
    exe = fake_pactl(tmp_path, f"""
        def say(*lines):
            sys.stdout.write("".join(line + "\\n" for line in lines))
            sys.stdout.flush()
        say("Event 'new' on client #40", "Event 'change' on sink #1", "Event 'new' on source-output #9")
        say("Event 'new' on sink-input #41", "Event 'change' on sink-input #41", "Event 'change' on sink-input #41",
            "Event 'new' on sink-input #42", "Event 'remove' on sink-input #41")
        while not os.path.exists({str(go)!r}):
            time.sleep(0.01)
        say("Event 'remove' on sink-input #42")
        time.sleep(60)
    """)
    calls = Calls()
    watcher = StreamWatcher(calls, settle=0.05, exe=exe).start()
    try:
        wait_for(lambda: calls.n >= 1, "the first report")
        assert calls.n == 1  # five events, one report
        go.touch()
        wait_for(lambda: calls.n >= 2, "the report of the removal")
        assert calls.n == 2
    finally:
        watcher.stop()
    assert calls.threads == {"trayrip-stream-events"}
    assert not watcher._thread.is_alive()


@pytest.mark.parametrize("line, counts", [
    (b"Event 'new' on sink-input #41", True),
    (b"Event 'change' on sink-input #41", True),  # PipeWire: a new stream is listed once it is linked
    (b"Event 'remove' on sink-input #7", True),
    (b"Event 'new' on client #40", False),
    (b"Event 'change' on sink #1", False),
    (b"Event 'new' on source-output #9", False),  # a recorder (trayrip's own) is not something playing
    (b"Event 'change' on server #-1", False),
])
def test_which_events_mean_the_playing_streams_changed(line, counts):
    assert is_stream_event(line) is counts


def test_a_server_that_goes_away_is_watched_again_and_its_return_reported_once(tmp_path):
    # The first child gets through (the server is up), the next two fail at once (down),
    # the fourth stays (back): one report, for the return, none for the failed tries.
    # A shell script, not Python: a failing try must end well within `settle` even on a loaded machine.
    count = tmp_path / "count"
    exe = tmp_path / "pactl"
    exe.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        echo x >> '{count}'
        n=$(wc -l < '{count}')
        [ "$n" -eq 1 ] && exit 0   # the server went away
        [ "$n" -le 3 ] && exit 1   # "Connection failure": still down
        exec sleep 60
    """))
    exe.chmod(0o700)
    exe = str(exe)
    calls = Calls()
    watcher = StreamWatcher(calls, settle=0.5, retry=0.01, retry_max=0.05, exe=exe).start()
    try:
        wait_for(lambda: calls.n >= 1, "the report of the return")
        assert watcher.children_started == 4 and calls.n == 1
    finally:
        watcher.stop()


def test_a_server_that_never_falls_quiet_still_gets_its_changes_reported(tmp_path):
    exe = fake_pactl(tmp_path, """
        while True:  # a stream event every 20 ms, for ever
            sys.stdout.write("Event 'change' on sink-input #5\\n")
            sys.stdout.flush()
            time.sleep(0.02)
    """)
    calls = Calls()
    watcher = StreamWatcher(calls, settle=0.5, exe=exe).start()
    try:
        wait_for(lambda: calls.n >= 2, "reports in spite of the storm")
    finally:
        watcher.stop()


def test_stop_ends_the_child_and_the_thread(tmp_path):
    pid_file = tmp_path / "pid"
    exe = fake_pactl(tmp_path, f"""
        open({str(pid_file)!r}, "w").write(str(os.getpid()))
        time.sleep(60)
    """)
    watcher = StreamWatcher(Calls(), exe=exe).start()
    wait_for(pid_file.exists, "the child")
    wait_for(lambda: pid_file.read_text().strip(), "the child's pid")
    pid = int(pid_file.read_text())
    watcher.stop()
    assert not watcher._thread.is_alive()
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = "gone"
    assert state in ("gone", "Z")


def test_without_pactl_nothing_runs(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    watcher = StreamWatcher(Calls()).start()
    assert watcher._thread is None
    watcher.stop()


def test_outputs_and_the_default_are_watched_when_asked(tmp_path):
    """``kinds=("sink", "server")`` (following the default output): a new default and a removed output are reported."""
    go = tmp_path / "go"
    exe = fake_pactl(tmp_path, f"""
        def say(*lines):
            sys.stdout.write("".join(line + "\\n" for line in lines))
            sys.stdout.flush()
        say("Event 'new' on sink-input #41", "Event 'new' on client #40")
        while not os.path.exists({str(go)!r}):
            time.sleep(0.01)
        say("Event 'change' on server #4294967295", "Event 'remove' on sink #3")
        time.sleep(60)
    """)
    calls = Calls()
    watcher = StreamWatcher(calls, settle=0.05, exe=exe, kinds=("sink", "server")).start()
    try:
        wait_for(lambda: watcher.children_started == 1, "the child")
        go.touch()
        wait_for(lambda: calls.n >= 1, "the report of the new default")
        assert calls.n == 1  # the stream event before it was not reported
    finally:
        watcher.stop()


def test_a_server_away_for_minutes_is_looked_for_every_10_s_at_most():
    """The tray notices a long outage's end (pre-roll, the idle icon) within 10 s: the pause between tries
    doubles from 1 s and stops at 10 s (it used to reach 60 s)."""
    waits: list[float] = []

    class Pauses:  # the watcher's stop event: records each pause and ends the watcher after eight
        def is_set(self) -> bool:
            return len(waits) >= 8

        def wait(self, seconds: float) -> bool:
            waits.append(seconds)
            return self.is_set()

    watcher = StreamWatcher(lambda: None, exe="/bin/false")  # pactl failing at once: no server
    watcher._stop = Pauses()
    watcher._run()
    assert waits == [1, 2, 4, 8, 10, 10, 10, 10]
