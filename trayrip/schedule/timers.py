"""OS timers that start trayrip for a schedule when it is not running (caller's thread; subprocess argument lists).

One small interface (:class:`OsTimers`: ``install(entry, tz)``, ``remove(id)``)
with two implementations:

* :class:`SystemdTimers` writes ``trayrip-schedule-<id>.timer`` + ``.service``
  into the systemd user unit folder (``OnCalendar`` from the schedule, with
  its zone; ``Persistent=true`` so a start missed while the machine was off
  fires at the next boot) and enables the timer with ``systemctl --user``.
* :class:`WindowsTasks` creates a Task Scheduler task from XML through
  ``schtasks /Create /XML`` (locale-independent, unlike ``/SD``), with
  ``StartWhenAvailable`` (the same as ``Persistent``) and ``WakeToRun``.

Both run ``trayrip schedule run`` a minute before the start (:data:`LEAD`),
so a tray app started by the timer is up in time: it hands over to a running
tray app or starts one, which records what is due (if the machine was off,
late, for what is left of the window).
The command runner is injected, so tests check the exact argument lists.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Protocol
from xml.sax.saxutils import escape

from .rules import DAY_NAMES, When
from .store import Entry

__all__ = ["OsTimers", "SystemdTimers", "WindowsTasks", "NoTimers", "on_calendar", "task_xml", "os_timers", "Runner"]

log = logging.getLogger(__name__)

Runner = Callable[[list[str]], "tuple[int, str]"]


def run_command(argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` (no shell); (exit status, output). A missing program is status 127."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        return 127, f"{argv[0]} not found"
    except subprocess.TimeoutExpired:
        return 124, f"{argv[0]} did not answer within 30 s"
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def trayrip_command() -> list[str]:
    """How the OS starts this trayrip: the same interpreter, ``-m trayrip schedule run``."""
    exe = sys.executable
    if sys.platform.startswith("win"):
        windowless = Path(exe).with_name("pythonw.exe")
        exe = str(windowless) if windowless.exists() else exe
    return [exe, "-m", "trayrip", "schedule", "run"]


class OsTimers(Protocol):
    """Starts trayrip at a schedule's times while it is not running."""

    def install(self, entry: Entry, tz: dt.tzinfo, tzname: str = "") -> str | None:
        """Create or replace the timer of ``entry``; a note for the user when it could not be activated."""

    def remove(self, ident: str) -> str | None:
        """Remove the timer of the entry ``ident`` (nothing when there is none)."""


class NoTimers:
    """Where trayrip has no OS timer: the tray app must be running at the time."""

    def install(self, entry: Entry, tz: dt.tzinfo, tzname: str = "") -> str | None:
        return "this system has no timer trayrip can use: keep the tray app running for schedules"

    def remove(self, ident: str) -> str | None:
        return None


LEAD = dt.timedelta(minutes=1)


def earlier(when: When, lead: dt.timedelta = LEAD) -> When:
    """The same start ``lead`` earlier on the wall clock (over midnight: the day before)."""
    moment = dt.datetime.combine(when.date or dt.date(2001, 1, 1), when.time) - lead  # 2001-01-01 was a Monday
    shift = (moment.date() - (when.date or dt.date(2001, 1, 1))).days
    if when.date is not None:
        return When(moment.time(), date=moment.date())
    return When(moment.time(), days=frozenset((d + shift) % 7 for d in when.days))


def on_calendar(when: When, tzname: str = "") -> str:
    """systemd's ``OnCalendar=`` for ``when``, e.g. ``Mon,Thu *-*-* 20:00:00 Europe/Berlin``."""
    clock = when.time.strftime("%H:%M:%S")
    if when.date is not None:
        expr = f"{when.date.isoformat()} {clock}"
    elif len(when.days) == 7:
        expr = f"*-*-* {clock}"
    else:
        expr = ",".join(DAY_NAMES[d] for d in sorted(when.days)) + f" *-*-* {clock}"
    return f"{expr} {tzname}" if tzname else expr


def _systemd_quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "/._-+=:@" for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SystemdTimers:
    """systemd user timers in ``unit_dir`` (default ``~/.config/systemd/user``)."""

    def __init__(self, unit_dir: Path | None = None, runner: Runner = run_command, command: list[str] | None = None):
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        self.unit_dir = unit_dir or base / "systemd" / "user"
        self._run = runner
        self._command = command or trayrip_command()

    def unit_name(self, ident: str) -> str:
        return f"trayrip-schedule-{ident}"

    def units(self, entry: Entry, tzname: str = "") -> dict[str, str]:
        """The ``.timer`` and ``.service`` texts for ``entry``."""
        name = self.unit_name(entry.id)
        label = entry.name or entry.when.text()
        timer = (
            "[Unit]\n"
            f"Description=trayrip schedule: {label}\n\n"
            "[Timer]\n"
            f"OnCalendar={on_calendar(earlier(entry.when), tzname)}\n"
            "Persistent=true\n"
            "AccuracySec=1s\n"
            f"Unit={name}.service\n\n"
            "[Install]\n"
            "WantedBy=timers.target\n"
        )
        service = (
            "[Unit]\n"
            f"Description=trayrip: record the scheduled {label}\n\n"
            "[Service]\n"
            "Type=simple\n"
            f"ExecStart={' '.join(_systemd_quote(a) for a in self._command)}\n"
        )
        return {f"{name}.timer": timer, f"{name}.service": service}

    def install(self, entry: Entry, tz: dt.tzinfo, tzname: str = "") -> str | None:
        if not entry.enabled:
            return self.remove(entry.id)
        self.unit_dir.mkdir(parents=True, exist_ok=True)
        for filename, text in self.units(entry, tzname).items():
            tmp = self.unit_dir / f".{filename}.tmp"
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, self.unit_dir / filename)
        log.info("wrote the systemd user timer %s", self.unit_dir / f"{self.unit_name(entry.id)}.timer")
        return self._systemctl(["daemon-reload"]) or self._systemctl(["enable", "--now", f"{self.unit_name(entry.id)}.timer"])

    def remove(self, ident: str) -> str | None:
        name = self.unit_name(ident)
        timer = self.unit_dir / f"{name}.timer"
        if not timer.exists() and not (self.unit_dir / f"{name}.service").exists():
            return None
        note = self._systemctl(["disable", "--now", f"{name}.timer"])
        for suffix in (".timer", ".service"):
            try:
                (self.unit_dir / f"{name}{suffix}").unlink()
            except FileNotFoundError:
                pass
        return self._systemctl(["daemon-reload"]) or note

    def _systemctl(self, args: list[str]) -> str | None:
        code, out = self._run(["systemctl", "--user", *args])
        if code != 0:
            log.info("systemctl --user %s: %s", " ".join(args), out)
            return (
                f"systemctl --user {' '.join(args)} failed ({out or f'status {code}'}): the timer file is written "
                "but systemd does not run it; while the tray app runs, schedules still record"
            )
        return None


_XML_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def task_xml(entry: Entry, first: dt.datetime, command: list[str]) -> str:
    """Task Scheduler XML: a time or weekly trigger at ``first`` (local wall clock), started when available.

    Weekly days are those of ``first``: a minute before a Monday 00:00 start is Sunday.
    """
    boundary = first.strftime("%Y-%m-%dT%H:%M:%S")
    if entry.when.date is not None:
        trigger = f"<TimeTrigger><StartBoundary>{boundary}</StartBoundary><Enabled>true</Enabled></TimeTrigger>"
    elif len(entry.when.days) == 7:
        trigger = (f"<CalendarTrigger><StartBoundary>{boundary}</StartBoundary><Enabled>true</Enabled>"
                   "<ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay></CalendarTrigger>")
    else:
        days = "".join(f"<{_XML_DAYS[d]} />" for d in sorted(earlier(entry.when, LEAD).days))
        trigger = (f"<CalendarTrigger><StartBoundary>{boundary}</StartBoundary><Enabled>true</Enabled>"
                   f"<ScheduleByWeek><DaysOfWeek>{days}</DaysOfWeek><WeeksInterval>1</WeeksInterval></ScheduleByWeek>"
                   "</CalendarTrigger>")
    args = " ".join(subprocess.list2cmdline([a]) for a in command[1:])
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\n'
        f"  <RegistrationInfo><Description>trayrip schedule: {escape(entry.name or entry.when.text())}</Description></RegistrationInfo>\n"
        f"  <Triggers>{trigger}</Triggers>\n"
        "  <Settings><StartWhenAvailable>true</StartWhenAvailable><WakeToRun>true</WakeToRun>"
        "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries><StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>"
        "<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy><ExecutionTimeLimit>PT0S</ExecutionTimeLimit></Settings>\n"
        f"  <Actions><Exec><Command>{escape(command[0])}</Command><Arguments>{escape(args)}</Arguments></Exec></Actions>\n"
        "</Task>\n"
    )


class WindowsTasks:
    """Task Scheduler tasks ``\\trayrip\\schedule-<id>`` through ``schtasks`` (argument lists)."""

    def __init__(self, runner: Runner = run_command, command: list[str] | None = None,
                 now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)):
        self._run = runner
        self._command = command or trayrip_command()
        self._now = now

    @staticmethod
    def task_name(ident: str) -> str:
        return f"\\trayrip\\schedule-{ident}"

    def install(self, entry: Entry, tz: dt.tzinfo, tzname: str = "") -> str | None:
        if not entry.enabled:
            return self.remove(entry.id)
        window = entry.next_window(self._now(), tz)
        if window is None:
            return self.remove(entry.id)
        first = (window.start - LEAD).astimezone().replace(tzinfo=None)  # Task Scheduler's wall clock is the computer's
        fd, name = tempfile.mkstemp(prefix="trayrip-task-", suffix=".xml")
        try:
            with os.fdopen(fd, "w", encoding="utf-16") as f:
                f.write(task_xml(entry, first, self._command))
            code, out = self._run(["schtasks", "/Create", "/TN", self.task_name(entry.id), "/XML", name, "/F"])
        finally:
            os.unlink(name)
        if code != 0:
            return f"schtasks could not create the task ({out or f'status {code}'}): keep the tray app running for schedules"
        return None

    def remove(self, ident: str) -> str | None:
        code, out = self._run(["schtasks", "/Query", "/TN", self.task_name(ident)])
        if code != 0:
            return None  # no such task
        code, out = self._run(["schtasks", "/Delete", "/TN", self.task_name(ident), "/F"])
        return None if code == 0 else f"schtasks could not delete the task ({out or f'status {code}'})"


def os_timers() -> OsTimers:
    """The OS timer of this system: Task Scheduler on Windows, systemd user timers where systemd runs.

    ``TRAYRIP_TIMERS`` = ``systemd``, ``windows`` or ``none`` overrides the choice (tests, containers).
    """
    forced = os.environ.get("TRAYRIP_TIMERS", "").strip().lower()
    if forced:
        choices = {"systemd": SystemdTimers, "windows": WindowsTasks, "none": NoTimers}
        if forced not in choices:
            raise ValueError(f"TRAYRIP_TIMERS={forced!r}: use systemd, windows or none")
        return choices[forced]()
    if sys.platform.startswith("win"):
        return WindowsTasks()
    if sys.platform.startswith("linux") and Path("/run/systemd/system").exists():
        return SystemdTimers()
    return NoTimers()
