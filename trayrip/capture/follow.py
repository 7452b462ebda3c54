"""Following the default output: a source on "the monitor of the default sink *now*" (Linux).

"What the computer plays" is the monitor of whatever output is the default at
this moment. When the user plugs in headphones (the default sink changes) or
a headset goes away (its sink is removed), a recording, the pre-roll stream
and Arm must go on recording the new default's monitor, in the same file.

* PulseAudio keeps a recording stream on the source it was opened on, so
  :class:`FollowDefault` re-opens the inner source on the new monitor
  (``reopen=True``): the old stream is stopped first, the new one started
  with the same sink, so blocks never overlap; the recorder fills the switch
  with exactly the time it took (block arrival times), nothing more.
* PipeWire: WirePlumber moves every stream that follows the default,
  trayrip's ``pw-record`` child included (tested), so ``reopen=False`` only
  logs the switch.

A stream that ends on its own (the server restarted, every output went away)
is not an error at once: the recording stays open, the follow thread looks
for the server every 0.25 s for up to :data:`LOST_PATIENCE` seconds and
records the default's monitor again (on both servers); the time away becomes
silence of its length. Only a server that stays away ends the recording.

``--device NAME`` is pinned to that device and never wrapped.

Threads: a :class:`~trayrip.capture.stream_events.StreamWatcher`
(``trayrip-stream-events``) reports server and sink events with an O(1)
``Event.set()``; the ``trayrip-follow-output`` thread asks the server which
monitor is the default and switches; start/stop/error are called from the
controlling thread (error from the recorder thread too). A lock keeps a
switch and a stop apart.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Callable, TypeVar

from ..errors import CaptureError
from .base import BlockSink, CaptureSource

if TYPE_CHECKING:  # the watcher's child spawner is Linux-only (fcntl), and api imports this module everywhere
    from .stream_events import StreamWatcher

__all__ = ["FollowDefault", "default_monitor", "monitor_opener", "once"]

log = logging.getLogger(__name__)
T = TypeVar("T")

# After a switch on PulseAudio a parec child reads the new monitor: read as often as PortAudio
# delivers (Arm and stop on silence must notice sound and silence on time).
_FOLLOW_READ_EVERY = 0.1
_SETTLE = 0.05  # seconds of quiet after a server/sink event before asking (keeps the switch well under 0.3 s)
_LOST_POLL = 0.25  # seconds between looks for the server while the stream is lost
_HEALTH_EVERY = 1.0  # seconds between looks at the stream otherwise
LOST_PATIENCE = 15.0  # seconds a lost stream waits for its server before the recording is filed with the error


def once(ask: Callable[[], T]) -> Callable[[], T]:
    """``ask`` called at most once; later calls get the same answer (or raise the same error)."""
    memo: list = []

    def answer() -> T:
        if not memo:
            try:
                memo.append((ask(), None))
            except CaptureError as exc:
                memo.append((None, exc))
        value, exc = memo[0]
        if exc is not None:
            raise exc
        return value

    return answer


def monitor_opener(backend, plan) -> Callable[[str], CaptureSource]:
    """How a PulseAudio recording opens monitors: the first (``plan``'s) through PortAudio, any later one through parec.

    Measured on the harness: a PortAudio stream (ALSA's pulse plugin) opened on a monitor gets its
    first block 1.9-2 s later and holds the sink back meanwhile, so a switch would lose or delay
    two seconds of what plays; a ``parec`` child gets audio within 30 ms.
    """
    from dataclasses import replace

    from .pipewire import PipeWireSource, PipeWireTarget, pw_record_path

    parec = pw_record_path("parec")
    opened = []

    def open_monitor(name: str) -> CaptureSource:
        if not opened:  # the first stream, as before; later ones (a switch, a server back) by parec
            opened.append(name)
            return backend.open_source(plan)
        if parec is None:
            return backend.open_source(replace(plan, env={"PULSE_SOURCE": name}, description=name))
        source = PipeWireSource(plan.format, PipeWireTarget(None, False, name, name), exe=parec, tool="parec")
        source.block_interval = _FOLLOW_READ_EVERY
        return source

    return open_monitor


def default_monitor() -> str | None:
    """The Pulse name of the default sink's monitor now, or None (no default sink); raises CaptureError."""
    from . import pulse

    src = pulse.query().monitor_of_default_sink()
    return src.name if src is not None else None


class FollowDefault:
    """A CaptureSource recording the default sink's monitor, across changes of the default.

    ``open_monitor(name)`` builds an inner source (not started) on the monitor
    ``name``; every inner source has the same format. ``find_monitor()`` asks
    which monitor is the default now (None: no default sink).
    """

    def __init__(
        self,
        open_monitor: Callable[[str], CaptureSource],
        monitor: str,
        *,
        find_monitor: Callable[[], str | None] = default_monitor,
        reopen: bool = True,
        watcher_factory: Callable[..., StreamWatcher] | None = None,
        on_close: Callable[[], None] | None = None,
    ):
        self._open = open_monitor
        self._find = find_monitor
        self.reopen = reopen
        self.monitor = monitor
        self._inner = open_monitor(monitor)
        self.format = self._inner.format
        self.description = self._inner.description
        self.can_wait = False
        self._watcher_factory = watcher_factory
        self._on_close = on_close
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._sink: BlockSink | None = None
        self._watcher: StreamWatcher | None = None
        self._thread: threading.Thread | None = None
        self._interval: float | None = None  # a pace asked of the source (see block_interval)
        self._lost: str | None = None  # why the inner stream ended, until another one runs
        self._lost_since: float | None = None
        self.patience = LOST_PATIENCE
        self._dead: str | None = None  # the inner stream died and no other default exists
        self.switches: list[tuple[float, str, str]] = []  # (time.monotonic(), from, to): for logs and tests

    # -- controlling thread ------------------------------------------------
    def start(self, sink: BlockSink) -> None:
        self._sink = sink
        self._dead = None
        self._stopped.clear()
        self._inner.start(sink)
        self.description = self._inner.description
        self._thread = threading.Thread(target=self._run, name="trayrip-follow-output", daemon=True)
        self._thread.start()
        factory = self._watcher_factory
        if factory is None:
            from .stream_events import StreamWatcher as factory
        self._watcher = factory(self._wake.set, settle=_SETTLE, kinds=("sink", "server")).start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(5.0)
        with self._lock:
            try:
                self._inner.stop()
            finally:
                self._sink = None
                if self._on_close is not None:
                    self._on_close()

    def error(self) -> str | None:
        if self._dead is not None:
            return self._dead
        err = self._inner.error()
        if err is None or self._stopped.is_set():
            return err
        # The stream ended: maybe its output went away and another is the default now, or the
        # server is restarting. The follow thread decides; until it has, the recording waits (the
        # recorder asks again), and the time it waited becomes silence of that length.
        self._wake.set()
        return None

    @property
    def block_interval(self) -> float | None:
        """The inner source's pace (a pipe read in batches), for the recorder to read or quicken."""
        return getattr(self._inner, "block_interval", None)

    @block_interval.setter
    def block_interval(self, seconds: float) -> None:
        self._interval = seconds  # a later inner source reads at this pace too
        if hasattr(self._inner, "block_interval"):
            self._inner.block_interval = seconds

    def drain(self, timeout: float = 1.0) -> None:
        """Hand over what the inner source holds back (a pipe), if it can."""
        drain = getattr(self._inner, "drain", None)
        if drain is not None:
            drain(timeout)

    # -- the follow thread ---------------------------------------------------
    def _run(self) -> None:
        while not self._stopped.is_set():
            # While the stream is lost, ask again every quarter second: a restarting server is back in 1-3 s.
            # Otherwise look at the stream once a second (no question to the server): a stream that ended
            # while nobody asked for its error (a short recording, pre-roll between taps) is noticed soon.
            woken = self._wake.wait(_LOST_POLL if self._lost_since is not None else _HEALTH_EVERY)
            self._wake.clear()
            if self._stopped.is_set():
                return
            if not woken and self._lost_since is None and self._inner.error() is None:
                continue
            try:
                self._check()
            except Exception as exc:  # never a silently dead thread: the recording goes on as it is
                log.exception("following the default output failed: %s", exc)

    def _check(self) -> None:
        try:
            now = self._find()
        except CaptureError:
            now, why = None, f"and the sound server did not come back within {self.patience:.0f} s"
        else:
            why = "and the sound server has no output to record any more"
        lost = self._inner.error() or self._lost
        if lost is None and (now is None or now == self.monitor):
            return
        if lost is not None and self._lost_since is None:
            self._lost, self._lost_since = lost, time.monotonic()
            log.info("%s; waiting up to %.0f s for the sound server", lost, self.patience)
        if lost is not None and now is None:
            # The server (or every output) is gone: the recording stays open while it may come back.
            if time.monotonic() - self._lost_since > self.patience:
                self._dead = f"{lost}, {why}"
                log.info("%s", self._dead)  # the owner of the recording reports it (once)
            return
        old = self.monitor
        if lost is None:
            self.switches.append((time.monotonic(), old, now))
            if not self.reopen:
                self.monitor = now
                log.info("the default output changed from %s to %s: the server moves the recording with it", old, now)
                return
        else:
            log.info("the sound server is back after %.1f s: recording %s", time.monotonic() - self._lost_since, now)
        with self._lock:
            sink = self._sink
            if self._stopped.is_set() or sink is None:
                return
            t0 = time.monotonic()
            # Break before make: the old stream stops first, so no block of it lands among the new one's.
            # (The other order costs more: a new stream's start waits up to 0.5 s for its first audio,
            # and what arrived meanwhile would have to be dropped.)
            try:
                self._inner.stop()
            except Exception as exc:  # the old output may be gone already
                log.debug("stopping the stream on %s: %s", old, exc)
            stopped = time.monotonic()
            try:
                inner = self._open(now)
                if self._interval is not None and hasattr(inner, "block_interval"):
                    inner.block_interval = self._interval
                inner.start(sink)
            except CaptureError as exc:
                if self._lost_since is not None and time.monotonic() - self._lost_since <= self.patience:
                    return  # the server is not quite ready yet: the next look tries again
                self._dead = f"the default output changed to {now}, which cannot be recorded: {exc}"
                log.info("%s", self._dead)
                return
            self._lost = self._lost_since = None
            self._inner, self.monitor = inner, now
            self.description = inner.description
            if old != now:
                log.info("the default output changed from %s to %s: recording it now (old stream stopped in "
                         "%.0f ms, new one open in %.0f ms)", old, now, 1000 * (stopped - t0),
                         1000 * (time.monotonic() - stopped))
