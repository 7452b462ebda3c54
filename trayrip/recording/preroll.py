"""Pre-roll: the last N seconds of a capture stream, kept in a bounded ring while nothing records.

Threads:

* the audio driver calls :meth:`SharedStream._dispatch` -- O(1): under a
  lock held only for a reference read, it hands the block to the current
  sink (the ring's queue while idle, a recorder's queue while recording);
* ``trayrip-preroll`` drains the ring's queue in batches (every 0.2 s) and
  copies the audio into the :class:`Ring` (one memcpy per block, no growth);
* the controlling thread opens/closes the stream and makes taps.

The stream's life is not tied to a recording: a recording takes the stream
over through a :class:`Tap` (a :class:`~trayrip.capture.base.CaptureSource`),
gets the ring's audio as its lead-in, and gives the stream back when it stops.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from ..capture.base import AudioFormat, Block, BlockSink, CaptureSource

__all__ = ["MAX_PREROLL_SECONDS", "Ring", "SharedStream", "Tap", "preroll_bytes"]

log = logging.getLogger(__name__)

MAX_PREROLL_SECONDS = 120
_DRAIN_WAIT = 0.2  # seconds the ring thread lets blocks gather between copies
_HANDOVER_TIMEOUT = 5.0


def preroll_bytes(seconds: float, fmt: AudioFormat) -> int:
    """Memory the ring takes: N x rate x channels x bytes per sample."""
    return int(round(seconds * fmt.rate)) * fmt.bytes_per_frame


class Ring:
    """A fixed-size byte ring of whole frames: O(len) per write, never grows (one thread)."""

    def __init__(self, frames: int, bytes_per_frame: int):
        self.bytes_per_frame = bytes_per_frame
        self.capacity = max(0, frames) * bytes_per_frame
        self._buf = bytearray(self.capacity)
        self._end = 0  # where the next byte goes
        self._filled = 0

    @property
    def frames(self) -> int:
        """Frames held (at most the capacity)."""
        return self._filled // self.bytes_per_frame

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``; the oldest audio makes room."""
        cap = self.capacity
        if cap == 0:
            return
        view = memoryview(data)
        if len(view) >= cap:
            self._buf[:] = view[len(view) - cap :]
            self._end, self._filled = 0, cap
            return
        first = min(len(view), cap - self._end)
        self._buf[self._end : self._end + first] = view[:first]
        rest = len(view) - first
        if rest:
            self._buf[:rest] = view[first:]
        self._end = (self._end + len(view)) % cap
        self._filled = min(cap, self._filled + len(view))

    def write_silence(self, nbytes: int) -> None:
        """Append ``nbytes`` of digital silence (at most the capacity is touched)."""
        nbytes = min(nbytes, self.capacity)
        if nbytes > 0:
            self.write(bytes(nbytes))

    def snapshot(self) -> bytearray:
        """The held audio, oldest first: one new buffer, no intermediate copies."""
        out = bytearray(self._filled)
        view = memoryview(self._buf)
        start = (self._end - self._filled) % self.capacity if self.capacity else 0
        first = min(self._filled, self.capacity - start)
        out[:first] = view[start : start + first]
        out[first:] = view[: self._filled - first]
        return out

    def clear(self) -> None:
        self._end = self._filled = 0


class SharedStream:
    """One capture stream that outlives recordings, keeping the last ``seconds`` in a ring.

    ``on_lost(message)`` is called (on ``trayrip-preroll``, O(1) expected)
    when the stream dies on its own while no recording holds it.
    """

    def __init__(self, source: CaptureSource, seconds: float, on_lost: Callable[[str], None] | None = None):
        if not 0 < seconds <= MAX_PREROLL_SECONDS:
            raise ValueError(f"pre-roll must be between 0 and {MAX_PREROLL_SECONDS} s, not {seconds}")
        self.source = source
        self.format: AudioFormat = source.format
        self.description = source.description
        self.seconds = seconds
        self._on_lost = on_lost
        self._ring = Ring(int(round(seconds * self.format.rate)), self.format.bytes_per_frame)
        self._queue: queue.Queue = queue.Queue(maxsize=250)  # 10 s of 40 ms blocks: only references
        self._lock = threading.Lock()
        self._sink: BlockSink = self._to_ring
        self._tapped = False
        self._stop = threading.Event()
        self._wake = threading.Event()  # a hand-over or close cuts the ring thread's gathering pause short
        self._thread: threading.Thread | None = None
        self.dropped_frames = 0
        self._flowing = False

    @property
    def memory_bytes(self) -> int:
        return self._ring.capacity

    # -- driver thread ---------------------------------------------------------
    def _dispatch(self, block: Block) -> bool:
        with self._lock:  # held for a reference read and an O(1) put_nowait
            return self._sink(block)

    def _to_ring(self, block: Block) -> bool:
        try:
            self._queue.put_nowait(block)
            return True
        except queue.Full:
            self.dropped_frames += block.frames
            return False

    # -- controlling thread ----------------------------------------------------
    def start(self) -> SharedStream:
        """Open the stream (raises CaptureError) and start filling the ring."""
        self._thread = threading.Thread(target=self._run, name="trayrip-preroll", daemon=True)
        self._thread.start()
        try:
            self.source.start(self._dispatch)
        except BaseException:
            self._stop.set()
            self._queue.put(None)
            self._thread.join(5)
            raise
        log.info(
            "pre-roll: keeping the last %g s of %s (%s, %.1f MB)",
            self.seconds, self.description, self.format.describe(), self.memory_bytes / 1e6,
        )
        return self

    def close(self) -> None:
        """Stop the stream and the ring thread (idempotent)."""
        self._stop.set()
        self._wake.set()
        try:
            self.source.stop()
        except Exception as exc:
            log.warning("stopping the pre-roll stream failed: %s", exc)
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def tapped(self) -> bool:
        return self._tapped

    def tap(self) -> Tap:
        """A CaptureSource that takes this stream over for one recording."""
        return Tap(self)

    def snapshot(self) -> bytearray:
        """A copy of the ring's audio up to now (the ring keeps filling)."""
        drain = getattr(self.source, "drain", None)
        if drain is not None:  # a source that reads in batches (PipeWire's pipe) hands over its newest audio first
            drain()
        return self._request(clear=False)

    def error(self) -> str | None:
        return self.source.error()

    def _attach(self, sink: BlockSink) -> Callable[[], bytearray]:
        """Send blocks to ``sink`` from now on; return a function giving the ring's audio up to that moment
        (the ring is emptied). It waits for the ring thread's answer, so a recording calls it on its own
        thread: the start itself is the O(1) switch (under load the answer took up to 0.2 s)."""
        with self._lock:
            if self._tapped:
                raise RuntimeError("the pre-roll stream is already in use by a recording")
            self._sink, self._tapped = sink, True
        return self._ask(clear=True)

    def _detach(self) -> None:
        with self._lock:
            self._sink, self._tapped = self._to_ring, False

    def _request(self, clear: bool) -> bytearray:
        """Ask the ring thread for its audio; every block queued before this call is included."""
        return self._ask(clear)()

    def _ask(self, clear: bool) -> Callable[[], bytearray]:
        """Ask now; the returned function waits for the answer (once; later calls give it again)."""
        if not self.running:
            return bytearray
        reply: queue.Queue = queue.Queue(maxsize=1)
        self._queue.put(("snapshot", clear, reply))
        self._wake.set()  # a recording waits for this: no 0.2 s gathering pause before the answer
        answer: list[bytearray] = []

        def wait() -> bytearray:
            if not answer:
                try:
                    answer.append(reply.get(timeout=_HANDOVER_TIMEOUT))
                except queue.Empty:
                    log.error("the pre-roll thread did not answer within %.0f s", _HANDOVER_TIMEOUT)
                    answer.append(bytearray())
            return answer[0]

        return wait

    # -- trayrip-preroll thread ------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    item = self._queue.get(timeout=1.0)
                except queue.Empty:
                    self._check_stream()
                    continue
                while item is not None:
                    if isinstance(item, tuple):
                        _, clear, reply = item
                        reply.put(self._ring.snapshot())
                        if clear:
                            self._ring.clear()
                    else:
                        if not self._flowing:
                            self._flowing = True
                            log.info("pre-roll: audio flowing")
                        self._ring.write(item.data)
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if item is None:
                    return
                self._wake.wait(_DRAIN_WAIT)  # let a few blocks gather; a request or close() cuts this short
                self._wake.clear()
        except Exception:  # never a silently dead thread
            log.exception("the pre-roll thread failed")
            if self._on_lost is not None:
                self._on_lost("the pre-roll buffer failed (see the log)")

    def _check_stream(self) -> None:
        if self._tapped or self._stop.is_set():
            return  # a recording watches the stream while it holds it
        err = self.source.error()
        if err and self._on_lost is not None:
            self._stop.set()
            self._on_lost(err)


class Tap:
    """The shared stream as a CaptureSource for one recording (controlling thread).

    After :meth:`start`, ``preroll`` is the audio that came before the
    first block the sink gets (reading it waits for the ring thread: the
    recorder thread reads it); :meth:`stop` gives the stream back to the ring.
    """

    def __init__(self, stream: SharedStream):
        self._stream = stream
        self.format = stream.format
        self.description = stream.description
        self._take: Callable[[], bytearray] = bytearray
        self._started = False
        self._own_interval = getattr(stream.source, "block_interval", None)  # the stream's pace, given back at stop

    @property
    def block_interval(self) -> float | None:
        """The shared source's pace (PipeWire's pipe); a recording that waits for sound or silence quickens it."""
        return getattr(self._stream.source, "block_interval", None)

    @block_interval.setter
    def block_interval(self, seconds: float) -> None:
        if self._own_interval is not None:
            self._stream.source.block_interval = seconds

    @property
    def preroll(self) -> bytes | bytearray:
        return self._take()

    def start(self, sink: BlockSink) -> None:
        self._take = self._stream._attach(sink)
        self._started = True

    def stop(self) -> None:
        if self._started:
            self._started = False
            drain = getattr(self._stream.source, "drain", None)
            if drain is not None:  # what waits in the pipe belongs to the recording, not to the ring
                drain()
            self._stream._detach()
        if self._own_interval is not None:
            self._stream.source.block_interval = self._own_interval

    def error(self) -> str | None:
        return self._stream.error()
