"""A deterministic capture source from an array, for tests, demos and benchmarks.

It runs its own thread (standing in for the audio driver) and calls the sink
with fixed-size blocks, either in real time (``speed=1``), faster, or as fast
as the sink accepts (``speed=None``; a refused block is offered again, so
nothing is lost).
"""
from __future__ import annotations

import threading
import time

import numpy as np

from ..wav.pcm import from_float
from .base import AudioFormat, Block, BlockSink

__all__ = ["FakeSource"]


class FakeSource:
    """Plays ``samples`` (float, shape (frames, channels)) into a sink, optionally looped.

    ``gaps`` maps a frame position to seconds during which nothing is
    delivered, imitating an idle loopback source; ``stalls`` maps a position
    to seconds the "driver" is late, after which it catches up in a burst
    (no audio missing).
    """

    def __init__(
        self,
        samples: np.ndarray,
        rate: int = 48000,
        sample_width: int = 2,
        *,
        blocksize: int = 1920,
        speed: float | None = 1.0,
        total_frames: int | None = None,
        gaps: dict[int, float] | None = None,
        stalls: dict[int, float] | None = None,
        fail_after: int | None = None,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim == 1:
            samples = samples[:, None]
        self.format = AudioFormat(rate, samples.shape[1], sample_width)
        self.description = "fake source"
        self._pcm = from_float(samples, sample_width)
        self._frames = samples.shape[0]
        self.total_frames = self._frames if total_frames is None else total_frames
        self.blocksize = blocksize
        self.speed = speed
        self.can_wait = speed is None  # faster than real time: the recorder may hold us back
        self.gaps = dict(gaps or {})
        self.stalls = dict(stalls or {})
        self.fail_after = fail_after
        self._clock, self._sleep = clock, sleep
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: str | None = None
        self.delivered = 0

    def _block_at(self, pos: int, n: int) -> bytes:
        bpf = self.format.bytes_per_frame
        start = pos % self._frames
        if start + n <= self._frames:
            return self._pcm[start * bpf : (start + n) * bpf]
        head = self._pcm[start * bpf :]
        return head + self._block_at(0, n - (self._frames - start))

    def start(self, sink: BlockSink) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(sink,), name="fake-audio-driver", daemon=True)
        self._thread.start()

    def _run(self, sink: BlockSink) -> None:
        t0 = self._clock()
        pos, skipped = 0, 0.0
        while pos < self.total_frames and not self._stop.is_set():
            if self.fail_after is not None and pos >= self.fail_after:
                self._error = "fake device unplugged"
                return
            if pos in self.gaps:
                skipped += self.gaps.pop(pos)
            if pos in self.stalls:
                self._sleep(self.stalls.pop(pos))
            n = min(self.blocksize, self.total_frames - pos)
            if self.speed:
                due = t0 + skipped + (pos + n) / self.format.rate / self.speed
                delay = due - self._clock()
                if delay > 0:
                    self._sleep(delay)
            sink(Block(self._block_at(pos, n), n, self._clock()))  # faster than real time, the sink waits (can_wait)
            pos += n
            self.delivered = pos

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every frame was delivered (or the source was stopped)."""
        thread = self._thread
        if thread is None:
            return True
        try:
            thread.join(timeout)
        except RuntimeError:  # start() on another thread has not started it yet
            return False
        return not thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    def error(self) -> str | None:
        return self._error
