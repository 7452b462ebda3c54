"""Adding, listing, switching and removing schedules: what ``trayrip schedule`` and the tray menu do (caller's thread).

Each change is checked against the clock (``now`` is passed in), written to
``schedules.toml`` and mirrored in the OS timers (:mod:`.timers`); notes
about a timer that could not be activated come back as text, since the
schedule itself still works while the tray app runs.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from typing import Any

from .rules import ScheduleError, Window, parse_length, parse_when
from .store import Entry, Schedules, ScheduleStore, new_id, overlaps
from .timers import OsTimers

__all__ = ["add", "remove", "set_enabled", "listing", "Line", "pick"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Line:
    """One row of ``schedule list`` / the tray's Schedules menu (1-based ``number``)."""

    number: int
    entry: Entry
    next: Window | None

    def text(self, tz: dt.tzinfo) -> str:
        e = self.entry
        if not e.enabled:
            when = "off"
        elif self.next is None:
            when = "over"
        else:
            when = "next " + self.next.start.astimezone(tz).strftime("%a %Y-%m-%d %H:%M")
        name = e.name or "(no name)"
        return f"{self.number}  {name}  {e.describe()}  [{when}]"


def listing(schedules: Schedules, now: dt.datetime) -> list[Line]:
    """The entries in file order, each with its next run after ``now``."""
    return [
        Line(i + 1, e, e.next_window(now, schedules.tz) if e.enabled else None) for i, e in enumerate(schedules.entries)
    ]


def add(
    store: ScheduleStore,
    timers: OsTimers,
    now: dt.datetime,
    *,
    when: str,
    for_: str | None = None,
    until: str | None = None,
    name: str = "",
    options: dict[str, Any] | None = None,
) -> tuple[Entry, Window, list[str]]:
    """Add a schedule; (the entry, its first run, notes). Raises ScheduleError for a past time, an overlap, bad syntax."""
    from .store import entry_from

    schedules = _clean(store)
    parsed = parse_when(when)
    parse_length(parsed, for_, until)  # the syntax errors first, with their own message
    table: dict[str, Any] = {"id": new_id(), "name": name, "when": when, "enabled": True,
                             "created": now.isoformat(timespec="seconds")}
    table["for" if for_ is not None else "until"] = for_ if for_ is not None else until
    table.update({k: v for k, v in (options or {}).items() if v is not None})
    entry = entry_from(table)
    first = entry.next_window(now, schedules.tz)
    if first is None:
        start = parsed.text().replace("T", " ")
        raise ScheduleError(f"{start} is in the past (now: {now.astimezone(schedules.tz):%Y-%m-%d %H:%M}); give a later time")
    clash = overlaps(entry, schedules.entries, now, schedules.tz)
    if clash is not None:
        other, w = clash
        what = "its own next run" if other is entry else f"schedule {schedules.entries.index(other) + 1} ({other.name or other.when.text()})"
        raise ScheduleError(
            f"it overlaps {what} on {w.start.astimezone(schedules.tz):%a %Y-%m-%d %H:%M}-{w.end.astimezone(schedules.tz):%H:%M}; "
            "two recordings cannot run at once: choose another time or remove that one"
        )
    store.save(replace(schedules, entries=schedules.entries + (entry,)))
    notes = [n for n in [timers.install(entry, schedules.tz, schedules.timezone)] if n]
    return entry, first, notes


def pick(schedules: Schedules, number: int) -> Entry:
    """The entry numbered ``number`` (1-based, as ``schedule list`` shows)."""
    if not 1 <= number <= len(schedules.entries):
        count = len(schedules.entries)
        raise ScheduleError(
            f"there is no schedule {number}; " + (f"they are numbered 1 to {count} (see 'trayrip schedule list')" if count else "there are none")
        )
    return schedules.entries[number - 1]


def remove(store: ScheduleStore, timers: OsTimers, number: int) -> tuple[Entry, list[str]]:
    """Remove schedule ``number``, its OS timer and its run record."""
    schedules = _clean(store)
    entry = pick(schedules, number)
    store.save(replace(schedules, entries=tuple(e for e in schedules.entries if e is not entry)))
    from .store import RunLog

    RunLog(store.runs_path).forget(entry.id)
    notes = [n for n in [timers.remove(entry.id)] if n]
    return entry, notes


def set_enabled(store: ScheduleStore, timers: OsTimers, number: int, enabled: bool, now: dt.datetime) -> tuple[Entry, list[str]]:
    """Turn schedule ``number`` on or off (on: checked for overlaps again)."""
    schedules = _clean(store)
    entry = pick(schedules, number)
    changed = replace(entry, enabled=enabled)
    if enabled and not entry.enabled:
        clash = overlaps(changed, schedules.entries, now, schedules.tz)
        if clash is not None:
            other, w = clash
            raise ScheduleError(f"turning it on would overlap {other.name or other.when.text()} on {w.start.astimezone(schedules.tz):%a %Y-%m-%d %H:%M}")
    store.save(replace(schedules, entries=tuple(changed if e is entry else e for e in schedules.entries)))
    notes = [n for n in [timers.install(changed, schedules.tz, schedules.timezone)] if n]
    return changed, notes


def _clean(store: ScheduleStore) -> Schedules:
    schedules = store.load()
    if schedules.problems:
        raise ScheduleError(
            "the schedules file has problems; fix them first so nothing in it is lost:\n  " + "\n  ".join(schedules.problems)
        )
    return schedules
