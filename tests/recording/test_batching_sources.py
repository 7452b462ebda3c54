"""A source that delivers in batches (PipeWire's pipe, read twice a second) through the
wrappers that stand between it and the recorder: the pre-roll's Tap and one application's
AppSource. What waits in the batch at a stop belongs to the recording; waiting for sound or
silence quickens the batches, and a Tap gives the shared stream its pace back."""
from __future__ import annotations

import threading

from trayrip.capture.base import AudioFormat, Block
from trayrip.capture.routing import AppSource
from trayrip.recording.preroll import SharedStream
from trayrip.recording.recorder import PROMPT_BLOCK_SECONDS, Recorder

FMT = AudioFormat(48000, 2, 2)


class BatchingSource:
    """Audio "written into the pipe" by push() reaches the sink only at drain()."""

    def __init__(self):
        self.format = FMT
        self.description = "batching"
        self.block_interval = 0.5
        self._sink = None
        self._pipe: list[bytes] = []
        self._lock = threading.Lock()

    def start(self, sink) -> None:
        self._sink = sink

    def push(self, data: bytes) -> None:
        with self._lock:
            self._pipe.append(data)

    def drain(self) -> None:
        with self._lock:
            waiting, self._pipe = self._pipe, []
        for data in waiting:
            self._sink(Block(data, len(data) // 4, 0.0))

    def stop(self) -> None:
        self._sink = None

    def error(self):
        return None


def test_a_tap_stopping_hands_what_waits_in_the_pipe_to_the_recording_not_the_ring():
    source = BatchingSource()
    stream = SharedStream(source, 1.0).start()
    try:
        got = []
        tap = stream.tap()
        tap.start(lambda block: got.append(block.data) or True)
        source.push(b"\x01\x00" * 200)
        tap.stop()
        assert got == [b"\x01\x00" * 200]
        assert bytes(stream.snapshot()) == b""
    finally:
        stream.close()


def test_save_last_seconds_includes_what_waits_in_the_pipe():
    source = BatchingSource()
    stream = SharedStream(source, 1.0).start()
    try:
        source.push(b"\x02\x00" * 200)
        assert bytes(stream.snapshot()).endswith(b"\x02\x00" * 200)
    finally:
        stream.close()


def test_waiting_for_silence_quickens_a_shared_stream_only_while_it_records(tmp_path):
    source = BatchingSource()
    stream = SharedStream(source, 1.0).start()
    try:
        tap = stream.tap()
        Recorder(tap, tmp_path / "x.part", stop_on_silence=1.5)
        assert source.block_interval == PROMPT_BLOCK_SECONDS
        tap.start(lambda block: True)
        tap.stop()
        assert source.block_interval == 0.5  # the idle stream reads twice a second again
    finally:
        stream.close()


def test_an_app_source_passes_the_pace_through():
    class Route:
        monitor = "trayrip_app_1_a.monitor"
        name = "mpv"

    inner = BatchingSource()
    app = AppSource(Route(), lambda monitor: inner)
    assert app.block_interval == 0.5
    Recorder(app, "/nonexistent/x.part", wait_for_sound=True)
    assert inner.block_interval == PROMPT_BLOCK_SECONDS
