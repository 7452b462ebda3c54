"""Recorder: drains one capture stream into the writer and the silence tracker.

Threads: the source's driver thread calls :meth:`Recorder._accept` (O(1):
``put_nowait`` on a bounded queue); the ``trayrip-recorder`` thread does
everything else (analysis, disk writes). :meth:`stop` is called from the
controlling thread and returns once the file is closed.
"""
from __future__ import annotations

import bisect
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..capture.base import AudioFormat, Block, CaptureSource
from ..errors import CaptureError, TrayripError
from .loudness import Loudness, LoudnessMeter
from .preroll import Ring
from .silence import SilenceSettings, SilenceTracker
from .writer import WavWriter

__all__ = ["Recorder", "RecorderStatus", "RecordingResult"]

log = logging.getLogger(__name__)

_STOP = None
_MAX_HELD_SECONDS = 60  # of audio held while deciding about a gap (a stalled server's catch-up, in blocks of any size)
_BATCH_WAIT = 0.1  # seconds the recorder thread lets blocks gather between writes
PROMPT_BLOCK_SECONDS = 0.1  # at most this much audio per block from a batching source when waiting for sound or silence
_CLOCK_EVERY = 0.5  # seconds between points of the frame <-> arrival time map
_METER_EVERY = 0.5  # seconds of audio gathered before the loudness meter runs (nothing needs it sooner)


@dataclass(frozen=True)
class RecorderStatus:
    """A snapshot for progress lines, tooltips and meters (any thread)."""

    elapsed: float
    level_db: float
    bytes_written: int
    overflows: int
    dropped_frames: int


@dataclass(frozen=True)
class RecordingResult:
    """What the recorder knows when the capture file is closed."""

    part: Path
    format: AudioFormat
    frames: int
    trim_range: tuple[int, int] | None
    regions: list[tuple[int, int]]
    overflows: int
    dropped_frames: int
    filled_frames: int
    error: str | None = None
    peak_db: float = float("-inf")
    clock: tuple[tuple[int, float], ...] = ()  # (frames written, block arrival time.monotonic()), ~2 a second
    loudness: Loudness | None = None  # BS.1770 over everything written (None: not measured)

    def frame_at(self, when: float) -> int:
        """The frame that was captured at monotonic time ``when`` (from the clock map; clamped to the file)."""
        if not self.clock:
            return 0
        frames, times = zip(*self.clock)
        if len(frames) == 1 or when <= times[0]:
            frame = frames[0] - (times[0] - when) * self.format.rate
        elif when >= times[-1]:
            frame = frames[-1] + (when - times[-1]) * self.format.rate
        else:
            i = bisect.bisect_right(times, when)
            t0, t1, f0, f1 = times[i - 1], times[i], frames[i - 1], frames[i]
            frame = f0 + (f1 - f0) * (when - t0) / (t1 - t0) if t1 > t0 else f0
        return int(min(max(0, round(frame)), self.frames))

    @property
    def duration(self) -> float:
        return self.frames / self.format.rate


@dataclass
class _Counters:
    overflows: int = 0
    dropped_frames: int = 0
    filled_frames: int = 0
    gaps: list[tuple[int, int]] = field(default_factory=list)


class Recorder:
    """Records one capture source into ``part`` (a new WAV file)."""

    def __init__(
        self,
        source: CaptureSource,
        part: Path,
        silence: SilenceSettings | None = None,
        *,
        queue_seconds: float = 30.0,
        fill_gaps: bool = True,
        gap_threshold: float = 0.2,
        max_frames: int | None = None,
        clock=time.monotonic,
        wait_for_sound: bool = False,
        stop_on_silence: float = 0.0,
        lead_in: float = 0.5,
        on_event: Callable[[str], None] | None = None,
        loudness: bool = True,
    ):
        self.source = source
        self.part = Path(part)
        self.format = source.format
        self.silence = silence or SilenceSettings()
        self.fill_gaps = fill_gaps
        self.gap_threshold = gap_threshold
        self.max_frames = max_frames
        self._clock = clock
        self._queue: queue.Queue[Block | None] = queue.Queue(maxsize=max(16, int(queue_seconds * 25)))
        self._counters = _Counters()
        self._tracker = SilenceTracker(self.format.rate, self.format.channels, self.format.sample_width, self.silence)
        # Measured as written, like silence, so the ReplayGain tags cost nothing at stop.
        self._meter = LoudnessMeter(self.format.rate, self.format.channels, self.format.sample_width) if loudness else None
        self._metering: list[bytes] = []  # written, not yet measured (fewer, larger meter calls cost less)
        self._metering_bytes = 0
        self._writer: WavWriter | None = None
        self._thread: threading.Thread | None = None
        self._failure: str | None = None
        self._last_arrival: float | None = None
        self._flowing = False
        self._held: list[Block] = []  # blocks after a delivery gap, until we know whether audio was missing
        self._held_frames = 0
        self._max_held = _MAX_HELD_SECONDS * self.format.rate
        self._gap_from = 0.0  # arrival of the last block before that gap
        self._stopping = threading.Event()
        self._source_stopped = False
        self._dropped_pending = 0
        self._pending: list[bytes] = []  # accepted audio not yet written (one batch)
        self._pending_frames = 0
        # Stop on silence falls on its frame (_track) but is noticed when a batch is written:
        # smaller batches (one 40 ms block) keep it on time.
        self._batch_wait = _BATCH_WAIT if not stop_on_silence else 0.04
        interval = getattr(source, "block_interval", None)  # a source that delivers in batches (PipeWire's pipe)
        if interval and (wait_for_sound or stop_on_silence):  # the sound and the silence are noticed on time
            source.block_interval = interval = min(interval, PROMPT_BLOCK_SECONDS)
        # Between blocks nothing needs checking more often than blocks come.
        self._idle_check = max(0.25, 1.5 * float(interval or 0.0))
        self._batch_frames = max(1, int(self.format.rate * self._batch_wait * 2))
        self._clock_map: list[tuple[int, float]] = []  # for placing player signals in the file
        self.done = threading.Event()  # set when the recorder thread ends (stop, limit or failure)
        # Sound-activated: nothing is written until the level passes the threshold; the last
        # ``lead_in`` seconds are kept in a small ring so the onset (and the pad before it) is not clipped.
        self.wait_for_sound = wait_for_sound
        self.triggered = threading.Event()
        if not wait_for_sound:
            self.triggered.set()
        self._gate = SilenceTracker(self.format.rate, self.format.channels, self.format.sample_width, self.silence)
        lead_frames = int(round(max(lead_in, 2 * self.silence.pad_before) * self.format.rate))
        self._lead = Ring(lead_frames if wait_for_sound else 0, self.format.bytes_per_frame)
        # Stop on silence: the recorder only reports it (``on_event("silence")``); whoever owns the
        # recording stops it (the CLI loop, or the tray's controller through its queue).
        if stop_on_silence < 0:
            raise ValueError("stop_on_silence must not be negative")
        self.stop_on_silence = stop_on_silence
        self._silence_frames = int(round(stop_on_silence * self.format.rate))
        self.silence_reached = threading.Event()
        self.silence_at: int | None = None  # frame where the stopping silence began
        # Silence counts from here: after the pre-roll, or (armed) from the onset that opened the gate.
        self._silence_from = 0
        self._preroll: memoryview | None = None  # written first by the recorder thread
        self._preroll_due = False  # the source's pre-roll is still to be asked for (recorder thread)
        self._on_event = on_event or (lambda kind: None)

    # -- driver thread ---------------------------------------------------
    def _accept_waiting(self, block: Block) -> bool:
        """For sources that may wait (files, fakes running faster than real time): nothing is dropped."""
        self._queue.put(block)
        return True

    def _accept(self, block: Block) -> bool:
        try:
            self._queue.put_nowait(block)
            return True
        except queue.Full:
            self._dropped_pending += block.frames
            return False

    # -- controlling thread ----------------------------------------------
    def start(self) -> None:
        """Create the capture file and start the stream; raises TrayripError on failure."""
        self._writer = WavWriter(self.part, self.format)
        self._thread = threading.Thread(target=self._run, name="trayrip-recorder", daemon=True)
        can_wait = getattr(self.source, "can_wait", False)
        if can_wait:
            self._thread.start()
        try:
            # A real driver must never wait; a source that says it can (faster than real time) gets back-pressure.
            self.source.start(self._accept_waiting if can_wait else self._accept)
        except BaseException:
            if can_wait:
                self._queue.put(_STOP)
                self._thread.join(5)
            self._writer.abort()
            self.part.unlink(missing_ok=True)
            raise
        # A shared stream (pre-roll) hands over the audio it kept from before this recording: the recorder
        # thread asks for it (it may wait for the ring's thread) and writes it before any block.
        # (asked of the type: reading the property itself would wait for the answer here)
        self._preroll_due = hasattr(type(self.source), "preroll") and not self.wait_for_sound
        if not can_wait:
            self._thread.start()
        log.info("recording %s from %s into %s", self.format.describe(), self.source.description, self.part.name)

    @property
    def failed(self) -> str | None:
        """Why the recording stopped on its own (device lost, disk full), or None."""
        return self._failure

    def status(self) -> RecorderStatus:
        writer = self._writer
        frames = writer.frames if writer else 0
        return RecorderStatus(
            elapsed=frames / self.format.rate,  # 0 while waiting for sound
            level_db=self._tracker.level_db,
            bytes_written=writer.data_bytes if writer else 0,
            overflows=self._counters.overflows,
            dropped_frames=self._counters.dropped_frames + self._dropped_pending,
        )

    def stop_source(self) -> None:
        """Stop the stream only (idempotent): what it delivered is still written by :meth:`stop`, which may
        then run on another thread (the disk's time is not the caller's)."""
        self._stopping.set()
        if self._source_stopped:
            return
        self._source_stopped = True
        try:
            self.source.stop()
        except Exception as exc:  # a dying device must not cost the audio we have
            log.warning("stopping the capture stream failed: %s", exc)

    def stop(self, timeout: float = 10.0) -> RecordingResult:
        """Stop the stream, write what is queued, close the file (keeping it locked until :meth:`release`)."""
        self.stop_source()
        thread_alive = False
        if self._thread is not None:
            if self._thread.is_alive():
                try:
                    self._queue.put(_STOP, timeout=timeout)
                except queue.Full:
                    log.error("recorder queue stayed full for %.0f s", timeout)
                self._thread.join(timeout)
            thread_alive = self._thread.is_alive()
        assert self._writer is not None
        if thread_alive:
            # Still inside a write (a hung disk): closing under it could write into a reused descriptor.
            # The file stays as it is, locked by this process, for recovery after a restart.
            log.error("recorder thread did not finish within %.0f s; leaving %s to recovery", timeout, self.part)
            self._failure = self._failure or f"the disk did not accept the recording for {timeout:.0f} s"
        elif self._failure:
            self._writer.abort(keep_lock=True)
        else:
            self._writer.close(keep_lock=True)
        c = self._counters
        c.dropped_frames += self._dropped_pending
        self._dropped_pending = 0
        if c.overflows or c.dropped_frames:
            log.warning("%d input overflows, %d frames dropped", c.overflows, c.dropped_frames)
        return RecordingResult(
            part=self.part,
            format=self.format,
            frames=self._writer.frames,
            trim_range=self._tracker.trim_range(),
            regions=self._tracker.regions,
            overflows=c.overflows,
            dropped_frames=c.dropped_frames,
            filled_frames=c.filled_frames,
            error=self._failure,
            peak_db=self._tracker.peak_db,
            clock=tuple(self._clock_map),
            loudness=self._measured(),
        )

    def release(self) -> None:
        """Unlock the closed capture file (after it was filed, or handed on)."""
        if self._writer is not None:
            self._writer.release()

    # -- recorder thread -------------------------------------------------
    def _write_preroll(self) -> None:
        """Write the pre-roll first, a second at a time (never a second copy of a 120 s buffer)."""
        if self._preroll_due:
            self._preroll_due = False
            preroll = self.source.preroll
            if preroll:
                bpf = self.format.bytes_per_frame
                self._preroll = memoryview(preroll)[: len(preroll) - len(preroll) % bpf]
                self._silence_from = len(self._preroll) // bpf
                log.info("prepending %.2f s of pre-roll", self._silence_from / self.format.rate)
        data, self._preroll = self._preroll, None
        if data is None:
            return
        step = self.format.rate * self.format.bytes_per_frame
        for i in range(0, len(data), step):
            chunk = data[i : i + step]
            self._pending.append(chunk)
            self._pending_frames += len(chunk) // self.format.bytes_per_frame
            self._flush()

    def _run(self) -> None:
        try:
            self._write_preroll()
            while True:
                try:
                    block = self._queue.get(timeout=self._idle_check)
                except queue.Empty:
                    if self._held and not self._settle():
                        return self._flush()
                    self._flush()
                    err = None if self._stopping.is_set() else self.source.error()
                    if err:
                        raise CaptureError(err)
                    if self._writer is not None and not self._writer.closed and self._writer.data_bytes:
                        self._writer.sync()
                    continue
                # Take whatever else is queued too, and write it in one go: fewer syscalls and numpy calls.
                while block is not _STOP:
                    if not self._consume(block):
                        log.info("reached the requested length")
                        self._flush()
                        self.source.stop()
                        return
                    if self._pending_frames >= self._batch_frames:
                        break
                    try:
                        block = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if block is _STOP:
                    if self._held:
                        self._settle()
                    self._flush()
                    return
                self._flush()
                if self._queue.empty() and block.frames < self._batch_frames:
                    self._stopping.wait(self._batch_wait)  # let a few blocks gather; stop() cuts this short
        except TrayripError as exc:
            self._fail(str(exc))
        except Exception as exc:  # never a silently dead thread
            log.exception("recorder thread failed")
            self._fail(f"recording failed: {exc}")
        finally:
            self.done.set()

    def _fail(self, message: str) -> None:
        self._failure = message
        # The caller reports it (CLI error line, RecordingFailed, tray notification): logged here only once quietly.
        log.info("capture failed: %s", message)
        try:
            self.source.stop()
        except Exception as exc:
            log.debug("stopping the source after a failure: %s", exc)

    def _room(self, frames: int) -> int:
        if self.max_frames is None or not self.triggered.is_set():
            return frames  # waiting for sound: nothing counts yet (the gate cuts the lead-in to the limit)
        assert self._writer is not None
        return max(0, min(frames, self.max_frames - self._writer.frames - self._pending_frames))

    def _consume(self, block: Block) -> bool:
        """Take one block (holding it back after a delivery gap); False once ``max_frames`` is reached."""
        if block.overflow:
            self._counters.overflows += 1
        if not self._flowing:
            self._flowing = True
            log.info("audio flowing (first block)")  # idle loopback monitors take a while: tests wait for this
        if not self.fill_gaps:
            return self._append(block)
        previous, self._last_arrival = self._last_arrival, block.arrival
        block_time = block.frames / self.format.rate
        if self._held:
            if block.arrival - self._held[-1].arrival < 0.5 * block_time and self._held_frames < self._max_held:
                self._held.append(block)  # still draining a backlog
                self._held_frames += block.frames
                return True
            if not self._settle():
                return False
        elif previous is not None and (block.arrival - previous) - block_time > self.gap_threshold:
            # Held even when the block is long: after a stall PipeWire's null sink hands over seconds of its
            # catch-up in one read, and only the time that read does not cover is missing (_settle).
            self._held, self._held_frames, self._gap_from = [block], block.frames, previous
            return True
        return self._append(block)

    def _settle(self) -> bool:
        """Decide about a delivery gap once the blocks after it have arrived.

        Loopback sources deliver nothing while nothing plays (WASAPI always):
        then the gap is missing audio and becomes silence of its length. A
        driver that was merely late hands over its backlog in a burst: then the
        held blocks cover the gap and nothing is inserted. Gaps are measured
        from arrival times, not against the frame count, so clock drift never
        inserts silence; the wait for the first block is start-up latency and
        never counts.
        """
        held, self._held = self._held, []
        rate = self.format.rate
        missing = (held[-1].arrival - self._gap_from) - sum(b.frames for b in held) / rate
        if missing > self.gap_threshold:
            frames = self._room(int(round(missing * rate)))
            self._write_silence(frames)
            self._counters.filled_frames += frames
            log.info("filled %.3f s in which the loopback source delivered nothing", missing)
        return all(self._append(b) for b in held)  # still waiting: the gate finds the onset inside the backlog

    def _append(self, block: Block) -> bool:
        n = self._room(block.frames)
        if n:
            self._pending.append(block.data if n == block.frames else block.data[: n * self.format.bytes_per_frame])
            self._pending_frames += n
            # (not while waiting for sound: what is gathered then is not in the file yet, and may never be)
            due = not self._clock_map or block.arrival - self._clock_map[-1][1] >= _CLOCK_EVERY
            if due and self.triggered.is_set():
                assert self._writer is not None
                self._clock_map.append((self._writer.frames + self._pending_frames, block.arrival))
        return self.max_frames is None or self._room(1) > 0

    def _flush(self) -> None:
        """Write and analyse the batch gathered so far."""
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_frames = 0
        if not self.triggered.is_set():
            data = self._gate_batch(data)
            if not data:
                return
        assert self._writer is not None
        self._writer.write(data)
        self._track(data, len(data) // self.format.bytes_per_frame)
        if self._meter is not None:
            self._metering.append(data)
            self._metering_bytes += len(data)
            if self._metering_bytes >= _METER_EVERY * self.format.rate * self.format.bytes_per_frame:
                self._measure()

    def _measure(self) -> None:
        """Feed the loudness meter what was written since it last ran."""
        pending, self._metering, self._metering_bytes = self._metering, [], 0
        if pending and self._meter is not None:
            self._meter.feed(pending[0] if len(pending) == 1 else b"".join(pending))

    def _measured(self) -> Loudness | None:
        """The loudness of everything written (after the recorder thread ended)."""
        if self._meter is None or (self._thread is not None and self._thread.is_alive()):
            return None
        self._measure()
        return self._meter.result()

    def _gate_batch(self, data: bytes) -> bytes:
        """While waiting for sound: keep the batch in the lead-in ring, or open the gate.

        Returns what to write now: nothing while it is silent, else the lead-in
        before the onset plus the rest of the batch from the onset on. The
        onset is found inside the batch: a batch may hold seconds (a stalled
        server's backlog arrives in one read), and what came before the sound
        in it is waiting, not recording.
        """
        fed_before = self._gate.frames
        self._gate.feed(data)
        if not self._gate.has_sound:
            self._lead.write(data)
            return b""
        assert self._gate.first_sound is not None
        onset = max(0, self._gate.first_sound - fed_before) * self.format.bytes_per_frame
        self._lead.write(memoryview(data)[:onset])
        data = data[onset:]
        lead = self._lead.snapshot()
        self._lead.clear()
        self._silence_from = self._tracker.frames + len(lead) // self.format.bytes_per_frame  # (not the lead-in)
        self.triggered.set()
        log.info("sound above %.0f dBFS: recording (with %.2f s lead-in)", self.silence.threshold_db,
                 len(lead) / self.format.bytes_per_frame / self.format.rate)
        self._on_event("sound")
        out = lead + data
        if self.max_frames is not None:  # the length limit counts the lead-in too
            out = out[: self.max_frames * self.format.bytes_per_frame]
        return out

    def _track(self, data: bytes | None, frames: int) -> None:
        """Feed the silence tracker what was written: ``data``, or ``frames`` of digital silence.

        With stop on silence it is fed up to the frame where the silence would
        be long enough and checked there, so the stop falls on that frame
        however much one write holds (a late reader's long block, a backlog
        after a stall, a filled gap).
        """
        t = self._tracker
        bpf = self.format.bytes_per_frame
        view = memoryview(data) if data is not None else None
        while frames > 0:
            n = frames
            if self._silence_frames and not self.silence_reached.is_set():
                since = max(t.last_sound_end or 0, self._silence_from)
                n = min(frames, max(1, since + self._silence_frames - t.frames))
            if view is None:
                t.feed_silence(n)
            else:
                t.feed(view[: n * bpf])
                view = view[n * bpf :]
            frames -= n
            if self._silence_frames:
                self._check_silence()

    def _check_silence(self) -> None:
        """Report (once) when the sound has been gone for ``stop_on_silence`` seconds."""
        if self.silence_reached.is_set():
            return
        t = self._tracker
        since = max(t.last_sound_end or 0, self._silence_from)
        if t.frames - since >= self._silence_frames:
            self.silence_at = since
            self.silence_reached.set()
            log.info(
                "%.2f s of silence after %.2f s of the stream: stopping (stop on silence %g s)",
                (t.frames - since) / self.format.rate, since / self.format.rate, self.stop_on_silence,
            )
            self._on_event("silence")

    def _write_silence(self, frames: int) -> None:
        self._flush()  # keep the order: audio before the gap, then the gap
        if not self.triggered.is_set():
            self._lead.write_silence(frames * self.format.bytes_per_frame)
            self._gate.feed_silence(frames)
            return
        writer = self._writer
        assert writer is not None
        bpf = self.format.bytes_per_frame
        chunk = bytes(min(frames, self.format.rate) * bpf)
        remaining = frames
        while remaining > 0:
            n = min(remaining, len(chunk) // bpf)
            writer.write(chunk[: n * bpf] if n * bpf != len(chunk) else chunk)
            remaining -= n
        self._track(None, frames)
        if self._meter is not None:
            self._measure()
            self._meter.feed_silence(frames)
