"""Next-run computation with an injected clock: repeats, DST in Europe/Berlin, month ends, leap day, missed starts."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from trayrip.schedule.rules import (
    Length,
    ScheduleError,
    next_window,
    parse_duration,
    parse_length,
    parse_when,
    plan,
    starts_after,
    window_for,
    windows_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.timezone.utc


def at(*args, tz=BERLIN) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)


def test_a_week_of_repeats_mon_thu():
    when = parse_when("Mon,Thu 20:00")
    now = at(2026, 12, 7, 9, 0)  # a Monday
    starts = list(windows_between(when, Length(seconds=3600), now, now + dt.timedelta(days=14), BERLIN))
    got = [(w.start.astimezone(BERLIN).strftime("%a %d %H:%M"), w.end.astimezone(BERLIN).strftime("%H:%M")) for w in starts]
    assert got == [("Mon 07 20:00", "21:00"), ("Thu 10 20:00", "21:00"), ("Mon 14 20:00", "21:00"), ("Thu 17 20:00", "21:00")]


def test_a_year_of_daily_repeats_stays_on_the_wall_clock_across_dst():
    when = parse_when("daily 20:00")
    now = at(2026, 1, 1, 0, 0)
    starts = list(starts_after_n(when, now, 365))
    assert len({s.date() for s in starts}) == 365
    assert all(s.astimezone(BERLIN).strftime("%H:%M") == "20:00" for s in starts)
    offsets = {s.astimezone(BERLIN).utcoffset() for s in starts}
    assert offsets == {dt.timedelta(hours=1), dt.timedelta(hours=2)}  # both CET and CEST were crossed


def starts_after_n(when, after, n):
    it = starts_after(when, after, BERLIN)
    return [next(it) for _ in range(n)]


def test_next_run_after_previous_run_is_strictly_later():
    when = parse_when("weekdays 07:30")
    fri = at(2026, 12, 11, 7, 30)
    w = next_window(when, Length(seconds=60), fri, BERLIN)
    assert w.start == at(2026, 12, 14, 7, 30)  # Friday's run done: Monday


def test_spring_forward_a_missing_time_runs_after_the_gap():
    # 2026-03-29: Berlin jumps from 02:00 to 03:00; 02:30 does not exist.
    when = parse_when("daily 02:30")
    starts = starts_after_n(when, at(2026, 3, 28, 3, 0), 3)
    assert [s.astimezone(UTC).strftime("%m-%d %H:%M") for s in starts] == ["03-29 01:30", "03-30 00:30", "03-31 00:30"]
    assert starts[0].astimezone(BERLIN).strftime("%H:%M") == "03:30"
    # one run on that day, none skipped or doubled
    assert len({s.astimezone(BERLIN).date() for s in starts}) == 3


def test_fall_back_a_repeated_time_runs_once():
    # 2026-10-25: 02:00-03:00 happens twice in Berlin.
    when = parse_when("daily 02:30")
    starts = starts_after_n(when, at(2026, 10, 24, 12, 0), 2)
    assert starts[0].astimezone(UTC) == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)
    assert starts[1].astimezone(BERLIN).date() == dt.date(2026, 10, 26)


def test_a_length_is_elapsed_time_across_dst_an_until_is_wall_clock():
    start = at(2026, 10, 25, 1, 0)  # CEST; the clock goes back an hour at 03:00
    hour3 = window_for(start, Length(seconds=3 * 3600), BERLIN)
    assert hour3.seconds == 3 * 3600
    assert hour3.end.astimezone(BERLIN).strftime("%H:%M") == "03:00"  # 01:00 + 3 h of real time
    until = window_for(start, Length(until=dt.time(4, 0)), BERLIN)
    assert until.seconds == 4 * 3600  # 01:00 to 04:00 on the wall clock is 4 real hours that night


def test_until_past_midnight_ends_the_next_day():
    w = window_for(at(2026, 12, 7, 23, 0), Length(until=dt.time(1, 0)), BERLIN)
    assert w.end == at(2026, 12, 8, 1, 0)


def test_month_ends_and_leap_day_once_and_repeats():
    once = parse_when("2028-02-29T18:00")  # 2028 is a leap year
    assert next_window(once, Length(seconds=60), at(2028, 2, 28, 0, 0), BERLIN).start == at(2028, 2, 29, 18, 0)
    with pytest.raises(ScheduleError):
        parse_when("2027-02-29T18:00")  # not a leap year
    # a Tuesday repeat walks from Feb 29 into March, and Dec 31 into January
    tue = parse_when("Tue 18:00")
    assert next_window(tue, Length(seconds=60), at(2028, 2, 26, 0, 0), BERLIN).start == at(2028, 2, 29, 18, 0)
    assert next_window(tue, Length(seconds=60), at(2028, 2, 29, 19, 0), BERLIN).start == at(2028, 3, 7, 18, 0)
    assert next_window(parse_when("daily 00:00"), Length(seconds=60), at(2026, 12, 31, 0, 1), BERLIN).start == at(2027, 1, 1)
    assert next_window(parse_when("daily 23:59"), Length(seconds=60), at(2026, 4, 30, 23, 59), BERLIN).start == at(2026, 5, 1, 23, 59)


def test_a_once_in_the_past_has_no_next_run():
    once = parse_when("2026-12-24T18:00")
    assert next_window(once, Length(seconds=60), at(2026, 12, 24, 18, 0), BERLIN) is None


def test_missed_start_within_the_window_starts_late_else_reported():
    when = parse_when("daily 20:00")
    length = Length(seconds=3600)
    previous = at(2026, 12, 5, 20, 0)  # ran on Saturday; off on Sunday; back on Monday 20:20
    p = plan(when, length, previous, at(2026, 12, 7, 20, 20), BERLIN)
    assert p.late is not None and p.late.start == at(2026, 12, 7, 20, 0)
    assert [w.start for w in p.missed] == [at(2026, 12, 6, 20, 0)]
    assert p.next.start == at(2026, 12, 8, 20, 0)
    # after the window: nothing to start late, Monday is missed too
    p = plan(when, length, previous, at(2026, 12, 7, 21, 0), BERLIN)
    assert p.late is None and len(p.missed) == 2
    # a new schedule (no previous run) never reports the past
    assert plan(when, length, None, at(2026, 12, 7, 20, 20), BERLIN) == plan(when, length, None, at(2026, 12, 7, 20, 20), BERLIN)
    assert plan(when, length, None, at(2026, 12, 7, 20, 20), BERLIN).missed == ()


def test_the_syntax():
    assert parse_when("Mon,Thu 20:00").days == {0, 3}
    assert parse_when("weekdays 7:05").text() == "weekdays 07:05"
    assert parse_when("Sat-Mon 10:00").days == {5, 6, 0}
    assert parse_when("monday,thursday 20:00").text() == "Mon,Thu 20:00"
    assert parse_when("2026-12-24 18:00").text() == "2026-12-24T18:00"
    assert parse_duration("1h") == 3600 and parse_duration("1h30m") == 5400 and parse_duration("45s") == 45
    assert parse_duration("90m") == 5400 and parse_duration("1:30") == 5400 and parse_duration("4") == 4
    for bad in ("Mon,Thx 20:00", "20:00", "Mon 25:00", "Mon 20:60", "Mon", "2026-13-01T10:00", "Mon,,Tue 10:00"):
        with pytest.raises(ScheduleError):
            parse_when(bad)
    for bad in ("1x", "", "0s", "8d", "-1h", "h"):
        with pytest.raises(ScheduleError):
            parse_duration(bad)
    when = parse_when("Mon 20:00")
    with pytest.raises(ScheduleError, match="either"):
        parse_length(when)
    with pytest.raises(ScheduleError, match="start time"):
        parse_length(when, until="20:00")
    with pytest.raises(ScheduleError, match="time of day"):
        parse_length(when, until="2026-12-24T19:00")
    assert parse_length(parse_when("2026-12-24T18:00"), until="2026-12-24T19:30").until_at == dt.datetime(2026, 12, 24, 19, 30)
