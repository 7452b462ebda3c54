"""What a schedule means and when it runs: pure functions of (previous run, now, time zone) (any thread; stdlib).

A start is a wall-clock time in a named zone, either once ("2026-12-24T18:00")
or repeated on days of the week ("Mon,Thu 20:00", "daily 07:30",
"weekdays 18:00", "Sat-Sun 10:00"). The end is a length ("1h", "90m",
"1h30m", "45s") or a wall-clock time ("19:30"; the next one after the start).

Wall-clock times and DST, like cron and APScheduler: a start that does not
exist on a spring-forward day (02:30 in Berlin on the last Sunday of March)
runs at the same distance past the gap (03:30); one that happens twice on a
fall-back day runs once, the first time. A length is elapsed time; an "until"
end is a wall-clock time.

Nothing here reads a clock: ``now`` and ``previous`` are passed in, so a week
(or a year) of repeats across DST changes is tested in milliseconds.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import BadArgument

__all__ = [
    "ScheduleError",
    "When",
    "Length",
    "Window",
    "Plan",
    "parse_when",
    "parse_duration",
    "parse_length",
    "starts_after",
    "window_for",
    "next_window",
    "windows_between",
    "plan",
    "zone",
    "MAX_LENGTH",
]

UTC = dt.timezone.utc
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_DAY_WORDS = {
    "daily": frozenset(range(7)),
    "everyday": frozenset(range(7)),
    "weekdays": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
}
MAX_LENGTH = 7 * 24 * 3600.0  # a week; longer is almost certainly a typo
_MISSED_LOOKBACK = dt.timedelta(days=400)  # a machine off for longer reports at most a year's misses


class ScheduleError(BadArgument):
    """A schedule that cannot be used; the message says what and how to write it (CLI exit status 2)."""


@dataclass(frozen=True)
class When:
    """A start: once on ``date`` or on the weekdays in ``days`` (0 = Monday), at ``time`` (wall clock)."""

    time: dt.time
    days: frozenset[int] = frozenset()
    date: dt.date | None = None

    @property
    def once(self) -> bool:
        return self.date is not None

    def text(self) -> str:
        """The canonical spelling (what the file and ``schedule list`` show)."""
        clock = self.time.strftime("%H:%M") if not self.time.second else self.time.strftime("%H:%M:%S")
        if self.date is not None:
            return f"{self.date.isoformat()}T{clock}"
        for word in ("daily", "weekdays", "weekends"):
            if self.days == _DAY_WORDS[word]:
                return f"{word} {clock}"
        return ",".join(DAY_NAMES[d] for d in sorted(self.days)) + f" {clock}"


@dataclass(frozen=True)
class Length:
    """An end: ``seconds`` after the start, or the wall-clock ``until`` (time, or date and time for a once)."""

    seconds: float | None = None
    until: dt.time | None = None
    until_at: dt.datetime | None = None  # naive, wall clock: a once that ends on a given date

    def text(self) -> str:
        if self.seconds is not None:
            return duration_text(self.seconds)
        if self.until_at is not None:
            return "until " + self.until_at.isoformat(timespec="minutes")
        return "until " + self.until.strftime("%H:%M")  # type: ignore[union-attr]


@dataclass(frozen=True)
class Window:
    """One run: from ``start`` to ``end`` (aware datetimes in UTC; show them with ``astimezone(zone)``)."""

    start: dt.datetime
    end: dt.datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def overlaps(self, other: Window) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Plan:
    """What is due at ``now``: a window to start late (still open), the windows missed, the next one."""

    late: Window | None
    missed: tuple[Window, ...]
    next: Window | None


def duration_text(seconds: float) -> str:
    """``5400`` -> ``"1h30m"`` (the spelling :func:`parse_duration` reads back)."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{h}h" if h else "", f"{m}m" if m else "", f"{sec}s" if sec else ""]
    return "".join(parts) or "0s"


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m(?:in)?)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$", re.I)


def parse_duration(text: str) -> float:
    """"1h", "90m", "1h30m", "45s", "1:30" (h:mm) or plain seconds -> seconds."""
    t = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        seconds = float(t)
    elif re.fullmatch(r"\d+:\d{2}", t):
        h, m = t.split(":")
        seconds = int(h) * 3600 + int(m) * 60
    else:
        m = _DURATION.match(t)
        if not t or m is None or not any(m.groups()):
            raise ScheduleError(f"{text!r} is not a length; write e.g. 1h, 90m, 1h30m, 45s or 1:30")
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    if not 0 < seconds <= MAX_LENGTH:
        raise ScheduleError(f"{text!r}: a recording's length must be more than 0 and at most 7 days")
    return seconds


def _parse_clock(text: str) -> dt.time:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", text.strip())
    if m is None:
        raise ScheduleError(f"{text!r} is not a time of day; write it as HH:MM, e.g. 20:00")
    h, mi, s = int(m[1]), int(m[2]), int(m[3] or 0)
    if h > 23 or mi > 59 or s > 59:
        raise ScheduleError(f"{text!r} is not a time of day (00:00 to 23:59)")
    return dt.time(h, mi, s)


def _parse_days(text: str) -> frozenset[int]:
    word = text.strip().lower()
    if word in _DAY_WORDS:
        return _DAY_WORDS[word]
    days: set[int] = set()
    names = [d.lower() for d in DAY_NAMES]

    def day(part: str) -> int:
        p = part.strip().lower()[:3]
        if p not in names or len(part.strip()) < 2:
            raise ScheduleError(
                f"{part.strip()!r} is not a day; use Mon Tue Wed Thu Fri Sat Sun (e.g. \"Mon,Thu 20:00\"), "
                "daily, weekdays or weekends"
            )
        return names.index(p)

    for part in text.strip().split(","):
        if not part.strip():
            raise ScheduleError(f"{text!r}: an empty day between commas")
        if "-" in part:
            a, b = (day(x) for x in part.split("-", 1))
            d = a
            while True:  # Sat-Mon wraps over the week's end
                days.add(d)
                if d == b:
                    break
                d = (d + 1) % 7
        else:
            days.add(day(part))
    return frozenset(days)


def _parse_datetime(text: str) -> dt.datetime:
    t = text.strip().replace(" ", "T", 1)
    try:
        value = dt.datetime.fromisoformat(t)
    except ValueError:
        raise ScheduleError(f"{text!r} is not a date and time; write it as 2026-12-24T18:00") from None
    if value.tzinfo is not None:
        raise ScheduleError(f"{text!r}: give the wall-clock time without an offset (the schedule's time zone applies)")
    return value


def parse_when(text: str) -> When:
    """"Mon,Thu 20:00", "daily 07:30", "weekdays 18:00", "Sat-Sun 10:00" or "2026-12-24T18:00"."""
    t = str(text).strip()
    if not t:
        raise ScheduleError("no start given; write e.g. \"Mon,Thu 20:00\" or 2026-12-24T18:00")
    if re.match(r"^\d{4}-\d{2}-\d{2}", t):
        at = _parse_datetime(t)
        return When(time=at.time().replace(microsecond=0), date=at.date())
    parts = t.split()
    if len(parts) == 1 and ":" in parts[0]:
        raise ScheduleError(f"{t!r}: say which days, e.g. \"daily {t}\" or \"Mon,Thu {t}\" (or give --at DATE)")
    if len(parts) != 2:
        raise ScheduleError(f"{t!r} is not a start; write days and a time, e.g. \"Mon,Thu 20:00\" or \"daily 07:30\"")
    return When(time=_parse_clock(parts[1]), days=_parse_days(parts[0]))


def parse_length(when: When, for_: str | float | None = None, until: str | None = None) -> Length:
    """The end from a length (``for_``) or a wall-clock ``until`` (HH:MM, or a date and time for a once)."""
    if (for_ is None) == (until is None):
        raise ScheduleError("give how long to record: either a length (--for 1h) or an end time (--until 21:00)")
    if for_ is not None:
        return Length(seconds=parse_duration(str(for_)) if not isinstance(for_, (int, float)) else _checked(for_))
    text = str(until).strip()
    if re.match(r"^\d{4}-\d{2}-\d{2}", text):
        if not when.once:
            raise ScheduleError(f"until {text!r}: a repeating schedule ends at a time of day, e.g. --until 21:00")
        end = _parse_datetime(text)
        start = dt.datetime.combine(when.date, when.time)  # type: ignore[arg-type]
        if not dt.timedelta(0) < end - start <= dt.timedelta(seconds=MAX_LENGTH):
            raise ScheduleError(f"until {text!r} must be after the start and at most 7 days later")
        return Length(until_at=end)
    clock = _parse_clock(text)
    if clock == when.time:
        raise ScheduleError(f"until {text!r} is the start time; give a later end, or a length with --for")
    return Length(until=clock)


def _checked(seconds: float) -> float:
    if not 0 < float(seconds) <= MAX_LENGTH:
        raise ScheduleError(f"{seconds!r}: a recording's length must be more than 0 s and at most 7 days")
    return float(seconds)


def zone(name: str | None = None) -> dt.tzinfo:
    """The named IANA zone, or the computer's own (``TZ``, then ``/etc/localtime``)."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"unknown time zone {name!r}; use a name like Europe/Berlin") from None
    env = os.environ.get("TZ", "").lstrip(":")
    if env:
        try:
            return ZoneInfo(env)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    localtime = Path("/etc/localtime")
    try:
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
        with open(localtime, "rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    return dt.datetime.now().astimezone().tzinfo or UTC  # a fixed offset: right until the next DST change


def _aware(naive: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """Wall clock -> an instant in UTC: a time in a DST gap moves forward by the gap, a repeated one is the first.

    Instants stay in UTC: Python compares and subtracts two datetimes of the
    *same* zone by their wall clocks, which is wrong across a DST change.
    """
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def starts_after(when: When, after: dt.datetime, tz: dt.tzinfo) -> Iterator[dt.datetime]:
    """The starts strictly after the instant ``after``, in order (endless for a repeat)."""
    after = after.astimezone(UTC)
    if when.once:
        start = _aware(dt.datetime.combine(when.date, when.time), tz)  # type: ignore[arg-type]
        if start > after:
            yield start
        return
    if not when.days:
        return
    day = after.astimezone(tz).date() - dt.timedelta(days=1)  # a gap-shifted start may land on the next day
    while True:
        if day.weekday() in when.days:
            start = _aware(dt.datetime.combine(day, when.time), tz)
            if start > after:
                yield start
        day += dt.timedelta(days=1)


def window_for(start: dt.datetime, length: Length, tz: dt.tzinfo) -> Window:
    """The run that begins at ``start``: a length is elapsed time, ``until`` the next such wall-clock time."""
    if length.seconds is not None:
        end = start.astimezone(UTC) + dt.timedelta(seconds=length.seconds)
    elif length.until_at is not None:
        end = _aware(length.until_at, tz)
    else:
        local = start.astimezone(tz)
        end = _aware(dt.datetime.combine(local.date(), length.until), tz)  # type: ignore[arg-type]
        if end <= start:
            end = _aware(dt.datetime.combine(local.date() + dt.timedelta(days=1), length.until), tz)  # type: ignore[arg-type]
    return Window(start.astimezone(UTC), end)


def next_window(when: When, length: Length, after: dt.datetime, tz: dt.tzinfo) -> Window | None:
    """The first run that starts strictly after ``after`` (None: a once that is over)."""
    for start in starts_after(when, after, tz):
        return window_for(start, length, tz)
    return None


def windows_between(when: When, length: Length, after: dt.datetime, until: dt.datetime, tz: dt.tzinfo) -> Iterator[Window]:
    """Runs starting in (``after``, ``until``], in order."""
    for start in starts_after(when, after, tz):
        if start > until:
            return
        yield window_for(start, length, tz)


def plan(when: When, length: Length, previous: dt.datetime | None, now: dt.datetime, tz: dt.tzinfo) -> Plan:
    """What to do at ``now`` given the last start handled (``previous``: run, refused or reported missed).

    Runs that started after ``previous`` and up to ``now``: one still open is
    started late for what is left of it; the ones already over were missed.
    Without ``previous`` nothing before ``now`` counts (a new schedule).
    """
    now = now.astimezone(UTC)
    since = previous.astimezone(UTC) if previous is not None else now
    since = max(since, now - _MISSED_LOOKBACK)
    late: Window | None = None
    missed: list[Window] = []
    for w in windows_between(when, length, since, now, tz):
        if w.end > now:
            if late is not None:
                missed.append(late)  # runs of one schedule overlap only when mistyped; the newest wins
            late = w
        else:
            missed.append(w)
    return Plan(late, tuple(missed), next_window(when, length, now, tz))
