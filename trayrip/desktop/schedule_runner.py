"""The tray app runs the schedules: what is due, how long the controller may sleep (controller thread only).

The controller asks :meth:`ScheduleRunner.wait` how long it may block on its
queue (the time to the next notice, start or end: nothing polls), and on
waking calls :meth:`ScheduleRunner.due`, which answers with at most one thing
to do -- start a recording with given options, or stop the scheduled one.
Starting goes through the controller's normal start path (the same state
machine, capture plan and sleep inhibitor as a hotkey press).

Rules (issue 24):

* one minute before a start: a notification;
* a start while the tray app was not running, or asleep: started at once for
  what is left of the window; a window already over is reported missed --
  never silently;
* a start during a recording the user began is not started, and is reported;
* a hotkey press (or stop on silence, or a lost stream) during a scheduled
  recording ends it early, and the notification says so;
* each start handled (run, refused or missed) is written to the run log, so a
  restart neither repeats nor forgets one.

The wall clock is injected (``now`` returns an aware datetime), so the tests
step it like SafeEyes' scheduler tests.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Callable

from ..config import Config
from ..schedule import edit
from ..schedule.rules import ScheduleError, Window, plan
from ..schedule.store import Entry, RunLog, Schedules, ScheduleStore
from ..schedule.timers import NoTimers, OsTimers

__all__ = ["ScheduleRunner", "ScheduleView", "NextRun"]

log = logging.getLogger(__name__)

NOTICE = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class NextRun:
    """One row of the tray's Schedules menu."""

    number: int
    ident: str
    label: str  # "Jazz hour: Thu 20:00-21:00" / "… (off)"
    enabled: bool


@dataclass(frozen=True)
class ScheduleView:
    """What the tray shows of the schedules (immutable; published in the controller's snapshot)."""

    rows: tuple[NextRun, ...] = ()
    next: str | None = None  # "Jazz hour Thu 20:00"
    active: str | None = None  # the scheduled recording running now
    problem: str | None = None


def _clock(t: dt.datetime, tz: dt.tzinfo) -> str:
    return t.astimezone(tz).strftime("%a %H:%M")


class ScheduleRunner:
    """Loads ``schedules.toml`` and decides what is due (controller thread)."""

    def __init__(
        self,
        store: ScheduleStore | None = None,
        *,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
        notify: Callable[..., None] | None = None,
        timers: OsTimers | None = None,
    ):
        self._store = store
        self._now = now
        self._notify = notify or (lambda *a, **k: None)
        self._timers = timers or NoTimers()
        self._schedules = Schedules()
        self._runs: RunLog | None = None
        self._noticed: set[tuple[str, dt.datetime]] = set()
        self._active: tuple[Entry, Window] | None = None
        self._stopping = False
        self._pending_options: Any = None
        self.view = ScheduleView()
        self.reload()  # before the controller thread starts, so its first snapshot shows them

    # -- loading ----------------------------------------------------------------
    def reload(self) -> None:
        """Read the file again (start-up, ``trayrip schedule`` changed it, a menu change)."""
        if self._store is None:
            return
        self._schedules = self._store.load()
        self._runs = RunLog(self._store.runs_path)
        log.info("schedules: %d from %s", len(self._schedules.entries), self._store.path)
        for problem in self._schedules.problems:
            log.warning("%s", problem)
        if self._schedules.problems:
            self._notify("trayrip: problem in the schedules file", "; ".join(self._schedules.problems), error=True)
        self._refresh_view()

    def command(self, payload: Any) -> None:
        """A Schedules menu choice: ``None`` (reload), ``("remove", id)``, ``("enable", id, bool)``."""
        if payload is None or self._store is None:
            self.reload()
            return
        numbers = {e.id: i + 1 for i, e in enumerate(self._schedules.entries)}
        what, ident = payload[0], payload[1]
        try:
            if ident not in numbers:
                raise ScheduleError("that schedule is no longer in the file")
            if what == "remove":
                entry, notes = edit.remove(self._store, self._timers, numbers[ident])
                self._notify("Schedule removed", entry.name or entry.describe())
            else:
                entry, notes = edit.set_enabled(self._store, self._timers, numbers[ident], bool(payload[2]), self._now())
            for note in notes:
                log.warning("%s", note)
        except ScheduleError as exc:
            self._notify("trayrip: schedule not changed", str(exc), error=True)
        self.reload()

    # -- timing -------------------------------------------------------------------
    def wait(self, tick: float | None = None) -> float | None:
        """Seconds until the next notice, start or end, or ``tick`` if sooner; None: sleep until a command."""
        due = self._wait()
        return tick if due is None else due if tick is None else min(tick, due)

    def _wait(self) -> float | None:
        if self._store is not None and self._runs is None:
            self.reload()
        now = self._now()
        times: list[dt.datetime] = []
        if self._pending(now):
            return 0.0  # a start or a miss while trayrip was not running or the file changed: handle it now
        if self._active is not None:
            times.append(self._active[1].end)
        for entry in self._schedules.entries:
            if not entry.enabled:
                continue
            w = entry.next_window(now, self._schedules.tz)  # runs up to now were handled by due()
            if w is None:
                continue
            times.append(w.start)
            if (entry.id, w.start) not in self._noticed and w.start - NOTICE > now:
                times.append(w.start - NOTICE)
        if not times:
            return None
        return max(0.0, (min(times) - now).total_seconds())

    def _pending(self, now: dt.datetime) -> bool:
        if self._active is not None:
            return False
        for entry in self._schedules.entries:
            if entry.enabled:
                last = self._runs.last(entry.id) if self._runs is not None else None
                p = plan(entry.when, entry.length, last if last is not None else entry.created, now, self._schedules.tz)
                if p.late is not None or p.missed:
                    return True
        return False

    def due(self, config: Config, busy: bool) -> list[str]:
        """What the controller should do now: ``["start"]`` (options via :meth:`take_options`), ``["stop"]`` or nothing.

        ``busy``: a recording (or an armed wait) is running.
        """
        if self._store is not None and self._runs is None:
            self.reload()
        now = self._now()
        if self._active is not None and not busy and self._pending_options is None:
            self._active = None  # its start failed: the error was shown by the controller
        if self._active is not None:
            entry, window = self._active
            if now >= window.end and not self._stopping:
                self._stopping = True
                return ["stop"]
            return []
        start: tuple[Entry, Window] | None = None
        for entry in self._schedules.entries:
            if not entry.enabled:
                continue
            last = self._runs.last(entry.id) if self._runs is not None else None
            previous = last if last is not None else entry.created
            p = plan(entry.when, entry.length, previous, now, self._schedules.tz)
            for w in p.missed:
                self._mark(entry, w)
                self._notify(
                    f"Missed scheduled recording: {entry.name or entry.when.text()}",
                    f"{_clock(w.start, self._schedules.tz)}-{_clock(w.end, self._schedules.tz)}: "
                    "trayrip was not running or the computer was asleep",
                    error=True,
                )
            if p.late is not None and start is None:
                start = (entry, p.late)
            elif p.late is not None:
                self._mark(entry, p.late)
                self._notify(f"Scheduled recording not started: {entry.name}", "another scheduled recording runs", error=True)
            if p.next is not None and (entry.id, p.next.start) not in self._noticed and p.next.start - NOTICE <= now:
                self._noticed.add((entry.id, p.next.start))
                self._notify(f"Recording in a minute: {entry.name or entry.when.text()}",
                             f"{_clock(p.next.start, self._schedules.tz)}-{_clock(p.next.end, self._schedules.tz)}")
        if start is None:
            self._refresh_view()
            return []
        entry, window = start
        self._mark(entry, window)
        if busy:
            self._notify(
                f"Scheduled recording not started: {entry.name or entry.when.text()}",
                "a recording you started is running; it goes on",
                error=True,
            )
            self._refresh_view()
            return []
        late = (now - window.start).total_seconds()
        self._active = (entry, window)
        self._stopping = False
        self._pending_options = entry.recording_options(config)
        if late > 0.5:
            log.info("starting %s %.0f s late, for the %.0f s left of its window", entry.name, late, (window.end - now).total_seconds())
        self._refresh_view()
        return ["start"]

    def take_options(self) -> Any:
        """The options of the scheduled start in progress, once (None for any other start)."""
        options, self._pending_options = self._pending_options, None
        if options is not None and self._active is not None:
            entry, window = self._active
            self._notify(f"Scheduled recording: {entry.name or entry.when.text()}",
                         f"recording until {_clock(window.end, self._schedules.tz)}")
        return options

    def ended(self) -> None:
        """The running recording stopped (any reason); a scheduled one stopped early is reported."""
        if self._active is None:
            return
        entry, window = self._active
        self._active = None
        name = entry.name or entry.when.text()
        if self._stopping:
            self._notify(f"Scheduled recording ended: {name}", "filing it; where it was filed follows")
        else:
            self._notify(f"Scheduled recording stopped early: {name}",
                         f"it was to run until {_clock(window.end, self._schedules.tz)}; what was recorded is filed")
        self._stopping = False
        self._refresh_view()

    def _mark(self, entry: Entry, window: Window) -> None:
        if self._runs is not None:
            try:
                self._runs.mark(entry.id, window.start)
            except OSError as exc:
                log.warning("cannot write the schedule run log: %s", exc)

    def _refresh_view(self) -> None:
        now = self._now()
        tz = self._schedules.tz
        rows = []
        soonest: tuple[dt.datetime, str] | None = None
        for line in edit.listing(self._schedules, now):
            e, w = line.entry, line.next
            name = e.name or e.when.text()
            if w is not None:
                label = f"{name}: {w.start.astimezone(tz):%a %d %b %H:%M}-{w.end.astimezone(tz):%H:%M}"
                if soonest is None or w.start < soonest[0]:
                    soonest = (w.start, f"{name} {_clock(w.start, tz)}")
            else:
                label = f"{name}: {'off' if not e.enabled else 'over'}"
            rows.append(NextRun(line.number, e.id, label, e.enabled))
        active = None
        if self._active is not None:
            active = f"{self._active[0].name or self._active[0].when.text()} until {_clock(self._active[1].end, tz)}"
        problem = "; ".join(self._schedules.problems) or None
        self.view = ScheduleView(tuple(rows), soonest[1] if soonest else None, active, problem)
