"""Issue 20, defect 8: a press that comes while the previous recording's file is still being closed starts
the next recording at once (the stream stops on the controller thread, the disk's part runs on the filer)."""
from __future__ import annotations

import threading

from test_controller import WAIT, FakeRecording, FakeResult, Harnessless

from trayrip.desktop.controller import Cmd
from trayrip.desktop.state import State
from trayrip.desktop.stopping import stop_stream


class SlowDiskRecording(FakeRecording):
    """Its stream stops at once; closing its file waits for ``disk`` (a loaded disk's fsync)."""

    def __init__(self, *a, disk: threading.Event, log: list, **kw):
        super().__init__(*a, **kw)
        self.disk, self.log = disk, log

    def stop_stream(self):
        self.log.append(("stream stopped", self.name))
        return 1.5

    def stop_capture(self):
        if self.result is None:
            self.log.append(("closing", self.name))
            assert self.disk.wait(WAIT), "test disk never answered"
            self.result = FakeResult(self.frames, self._failed)
        return self.result

    def start(self):
        self.log.append(("started", self.name))
        return super().start()


def test_the_next_press_starts_while_the_previous_file_is_still_being_closed(tmp_path):
    h = Harnessless(tmp_path, threaded=True)
    disk, log = threading.Event(), []
    names = iter(["first.wav", "second.wav"])
    made = []

    def factory(options):
        made.append(SlowDiskRecording(options, h.folder, disk=disk, log=log, name=next(names)))
        return made[-1]

    h.c._factory = factory
    h.c.start()
    try:
        h.c.submit(Cmd.TOGGLE)
        h.wait(lambda s: s.state is State.RECORDING, "recording")
        h.c.submit(Cmd.TOGGLE)
        h.c.submit(Cmd.TOGGLE)  # while the first file waits for the disk
        h.wait(lambda s: s.state is State.RECORDING and s.seq > 2 and len(made) == 2 and made[1].started,
               "the second recording, with the first file still open")
        assert made[0].result is None and not made[0].finished  # the disk still holds the first
        assert log.index(("stream stopped", "first.wav")) < log.index(("started", "second.wav"))
        disk.set()
        h.wait(lambda s: s.state is State.RECORDING and s.pending == 0 and s.recent, "first filed")
        assert made[0].finished and made[0].result.frames == made[0].frames  # nothing lost on the way
        h.c.submit(Cmd.TOGGLE)
        h.wait(lambda s: s.state is State.IDLE and len(s.recent) == 2, "second filed")
    finally:
        disk.set()
        h.c.submit(Cmd.QUIT)
        assert h.c.wait_exit(WAIT)
        h.c.join(WAIT)


def test_a_recording_that_only_stops_whole_is_stopped_whole(tmp_path):
    rec = FakeRecording(None, tmp_path, frames=48000)
    assert stop_stream(rec) == 1.0
    assert rec.result is not None and rec.result.frames == 48000
