"""Keeping the machine awake while a recording runs: logind inhibitors (Linux).

While the tray records, two inhibitors are held (systemd-logind's
``Manager.Inhibit``; see ``man org.freedesktop.login1``):

* ``idle`` in *block* mode: automatic (idle) suspend waits for the recording;
* ``sleep`` in *delay* mode: a suspend the user asks for (lid, menu) still
  happens, but logind first sends ``PrepareForSleep(true)`` and waits (up to
  its ``InhibitDelayMaxSec``) until the lock is closed: trayrip ``fsync``\\ s
  the capture file, then lets go. On ``PrepareForSleep(false)`` (resume) the
  delay lock is taken again and the recording goes on (following the output
  handles devices the server re-created); the pause is logged.

Nothing is held while idle, armed-and-idle, or while pre-roll only listens:
listening does not keep a laptop awake. A recording is anything in the
RECORDING state, so a scheduled one holds it too.

Threads: :meth:`SleepGuard.update` runs on the controller thread (it is a
state subscriber: takes and releases the inhibitors there, one D-Bus call
each); the ``trayrip-sleep`` thread reads logind's signals (queued by the
bus's receiver thread) and does the sync and the release/re-take around a
suspend. A lock keeps the two apart. D-Bus goes through ``sessionbus`` (the
only jeepney import).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..sessionbus import BusError, DBusAddress, MatchRule, SessionBus, new_method_call
from .controller import Snapshot
from .state import State

__all__ = ["LOGIND", "HeldSnapshot", "SleepGuard", "sync_capture_files"]

log = logging.getLogger(__name__)

LOGIND = DBusAddress("/org/freedesktop/login1", bus_name="org.freedesktop.login1",
                     interface="org.freedesktop.login1.Manager")
WHO = "trayrip"
WHY_IDLE = "Recording what the computer plays"
WHY_SLEEP = "Saving the recording to disk before sleep"


@dataclasses.dataclass(frozen=True)
class HeldSnapshot(Snapshot):
    """A snapshot taken while sleep is held (the tooltip says so)."""

    sleep_held: bool = True


def sync_capture_files(folder: Path | None) -> int:
    """``fsync`` every unfinished capture file (``.trayrip-*.wav.part``) in ``folder``; returns how many.

    fsync through any descriptor of a file flushes all of its data, so this need not be the
    recorder's own; the recorder refreshes the header every second (a crash-safe layout), and
    recovery sizes a file from its length anyway.
    """
    if folder is None:
        return 0
    done = 0
    for part in Path(folder).glob(".trayrip-*.wav.part"):
        try:
            fd = os.open(part, os.O_RDONLY)
        except OSError:
            continue  # filed meanwhile
        try:
            os.fsync(fd)
            done += 1
        except OSError as exc:
            log.warning("could not sync %s before sleep: %s", part.name, exc)
        finally:
            os.close(fd)
    return done


class SleepGuard:
    """Holds the idle block and the sleep delay lock while the tray records.

    ``sync(folder)`` flushes the capture files (default :func:`sync_capture_files`);
    ``bus_factory()`` opens the system bus (a test gives a private one).
    """

    def __init__(self, sync: Callable[[Path | None], Any] = sync_capture_files,
                 bus_factory: Callable[[], SessionBus] | None = None):
        self._sync = sync
        self._bus_factory = bus_factory or (lambda: SessionBus(bus="SYSTEM", fds=True))
        self._lock = threading.Lock()
        self._bus: SessionBus | None = None
        self._signals: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._idle_fd: int | None = None
        self._delay_fd: int | None = None
        self._wanted = False
        self._folder: Path | None = None
        self._asleep_since: float | None = None
        self._unavailable_logged = False
        self.synced = 0  # capture files synced before sleep so far (diagnostics and tests)
        self.signals_seen = 0

    @property
    def held(self) -> bool:
        """True while the idle block is held (sleep waits for the recording)."""
        return self._idle_fd is not None

    # -- controller thread -------------------------------------------------
    def update(self, snap: Snapshot) -> Snapshot:
        """Take or release for this state; returns the snapshot saying whether sleep is held."""
        want = snap.state is State.RECORDING
        with self._lock:
            self._folder = snap.folder
            if want != self._wanted:
                self._wanted = want
                if want:
                    self._take_all()
                else:
                    self._release_all()
        if not self.held:
            return snap
        return HeldSnapshot(**{f.name: getattr(snap, f.name) for f in dataclasses.fields(Snapshot)})

    def close(self) -> None:
        """Release everything and end the signal thread (any thread, at exit)."""
        with self._lock:
            self._wanted = False
            self._release_all()
            bus, self._bus = self._bus, None
            signals = self._signals
        if signals is not None:
            signals.put(None)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        if bus is not None:
            bus.close()

    # -- under the lock ------------------------------------------------------
    def _connect(self) -> SessionBus | None:
        if self._bus is not None:
            return self._bus
        try:
            bus = self._bus_factory()
        except BusError as exc:
            self._unavailable(f"no system bus ({exc})")
            return None
        try:
            rule = MatchRule(type="signal", interface=LOGIND.interface, member="PrepareForSleep",
                             path=LOGIND.object_path)
            self._signals = bus.subscribe(rule)
        except BusError as exc:
            bus.close()
            self._unavailable(str(exc))
            return None
        self._bus = bus
        self._thread = threading.Thread(target=self._watch, args=(self._signals,), name="trayrip-sleep", daemon=True)
        self._thread.start()
        return bus

    def _unavailable(self, why: str) -> None:
        level = logging.DEBUG if self._unavailable_logged else logging.INFO
        self._unavailable_logged = True
        log.log(level, "cannot keep the machine awake while recording (logind): %s", why)

    def _inhibit(self, what: str, why: str, mode: str) -> int | None:
        bus = self._connect()
        if bus is None:
            return None
        try:
            (fd,) = bus.call(new_method_call(LOGIND, "Inhibit", "ssss", (what, WHO, why, mode)))
        except BusError as exc:
            self._unavailable(f"Inhibit({what}, {mode}) failed: {exc}")
            return None
        return fd.to_raw_fd() if hasattr(fd, "to_raw_fd") else int(fd)

    def _take_all(self) -> None:
        if self._idle_fd is None:
            self._idle_fd = self._inhibit("idle", WHY_IDLE, "block")
        if self._delay_fd is None and self._idle_fd is not None:
            self._delay_fd = self._inhibit("sleep", WHY_SLEEP, "delay")
        if self._idle_fd is not None:
            log.info("holding sleep while recording (logind inhibitors: idle block, sleep delay)")

    def _release_all(self) -> None:
        had = self._idle_fd is not None
        for name in ("_idle_fd", "_delay_fd"):
            fd = getattr(self, name)
            setattr(self, name, None)
            if fd is not None:
                os.close(fd)
        if had:
            log.info("sleep no longer held (the recording ended)")

    # -- the trayrip-sleep thread -------------------------------------------
    def _watch(self, signals: queue.Queue) -> None:
        while True:
            msg = signals.get()
            if msg is None:
                return
            try:
                (going,) = msg.body
                self._prepare(bool(going))
            except Exception:  # never a silently dead thread
                log.exception("handling logind's PrepareForSleep failed")
            self.signals_seen += 1

    def _prepare(self, going: bool) -> None:
        with self._lock:
            if going:
                self._asleep_since = time.monotonic()
                if self._delay_fd is None:
                    return
                n = self._sync(self._folder)
                self.synced += n if isinstance(n, int) else 1
                fd, self._delay_fd = self._delay_fd, None
                os.close(fd)  # logind may suspend now
                log.info("the machine is going to sleep: capture file synced, recording paused")
            else:
                since, self._asleep_since = self._asleep_since, None
                if self._wanted and self._delay_fd is None:
                    self._delay_fd = self._inhibit("sleep", WHY_SLEEP, "delay")
                if self._wanted:
                    asleep = f" after {time.monotonic() - since:.1f} s" if since is not None else ""
                    log.info("the machine woke up%s: recording goes on", asleep)
