"""Noticing when the playing streams change (Linux; the ``trayrip-stream-events`` thread).

A ``pactl subscribe`` child reports every new, changed or removed
sink-input (PulseAudio and pipewire-pulse alike); with ``kinds=("sink",
"server")`` it reports outputs coming and going and the default changing
instead (``capture/follow.py``). A burst of such events (a
stream opens, gets linked, starts) becomes one ``on_change()`` call once the
server has been quiet for ``settle`` seconds (at most a second after the
burst began); ``on_change`` must be O(1) (a queue put). While nothing changes the thread sleeps in a read, so this costs
nothing when idle. When the server goes away the child ends; it is started
again after a pause that doubles up to ``retry_max``, and ``on_change`` is
called once it is back, i.e. once a new child has stayed for ``settle``
seconds (what plays may be different by then). ``retry_max`` is 10 s: the
tray notices a long outage's end within 10 s (pre-roll and the idle icon
come back then), for one short-lived ``pactl`` every 10 s while no server
answers.
"""
from __future__ import annotations

import logging
import os
import re
import selectors
import shutil
import signal
import subprocess
import threading
import time
from typing import Callable

from .pipewire import spawn_child

__all__ = ["StreamWatcher", "event_kind", "is_stream_event"]

log = logging.getLogger(__name__)

_EVENT = re.compile(rb"Event '(?:new|change|remove)' on (?P<kind>sink-input|source-output|sink|source|server) #\d+")
_LONG_RUN = 10.0  # a child that ran this long was a working connection: retry soon after it ends
_MAX_DELAY = 1.0  # seconds from a burst's first event to its report, however long the burst


def is_stream_event(line: bytes) -> bool:
    """True for a ``pactl subscribe`` line about a playing stream (sink-input)."""
    return event_kind(line) == "sink-input"


def event_kind(line: bytes) -> str | None:
    """What a ``pactl subscribe`` line is about ("sink-input", "sink", "server", ...), or None."""
    m = _EVENT.search(line)
    return m["kind"].decode() if m else None


class StreamWatcher:
    """Calls ``on_change()`` after the set of playing streams may have changed."""

    def __init__(self, on_change: Callable[[], None], *, settle: float = 0.3, retry: float = 1.0,
                 retry_max: float = 10.0, exe: str | None = None, kinds: tuple[str, ...] = ("sink-input",)):
        self._on_change = on_change
        self.kinds = frozenset(kinds)
        self.settle = settle
        self.retry, self.retry_max = retry, retry_max
        self._exe = exe or shutil.which("pactl")
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.children_started = 0  # for tests and diagnostics

    def start(self) -> "StreamWatcher":
        """Start the watcher thread (any thread); without ``pactl`` it does nothing."""
        if self._exe is None:
            log.info("pactl not found: the list of playing applications is refreshed only on request")
            return self
        self._thread = threading.Thread(target=self._run, name="trayrip-stream-events", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """End the child and the thread (any thread)."""
        self._stop.set()
        with self._lock:
            proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # -- the watcher thread ------------------------------------------------
    def _run(self) -> None:
        delay = self.retry
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                proc = spawn_child(
                    [self._exe, "subscribe"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, env=dict(os.environ, LC_ALL="C", LANG="C"), start_new_session=True,
                )
            except OSError as exc:
                log.warning("cannot watch the sound server's streams: %s", exc)
                return
            with self._lock:
                self._proc = proc
            if self._stop.is_set():  # stop() came while the child was being started
                proc.terminate()
            self.children_started += 1
            try:
                # After a restart the server is back only once the child stays: then what plays may
                # have changed meanwhile, so that is reported like an event.
                self._follow(proc, report=self.children_started > 1)
            finally:
                proc.stdout.close()
                try:
                    proc.wait(2.0)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if time.monotonic() - started > _LONG_RUN:
                delay = self.retry
            log.debug("pactl subscribe ended (%s); again in %.0f s", proc.returncode, delay)
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.retry_max)

    def _follow(self, proc: subprocess.Popen, report: bool = False) -> None:
        """Read events until the child ends; report each burst once it has settled.

        A burst is reported ``settle`` s after its last event, or ``_MAX_DELAY``
        s after its first, whichever comes first (a server that never falls
        quiet still gets its changes shown).
        """
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        since = time.monotonic() if report else None  # first event of the burst not reported yet
        rest = b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                timeout = None
                if since is not None:
                    timeout = max(0.0, min(self.settle, since + _MAX_DELAY - time.monotonic()))
                if not sel.select(timeout):
                    since = None
                    self._on_change()
                    continue
                data = os.read(fd, 4096)
                if not data:
                    return
                lines = (rest + data).split(b"\n")
                rest = lines.pop()
                if since is None and any(event_kind(line) in self.kinds for line in lines):
                    since = time.monotonic()
