"""The controller runs the schedules: a stepped wall clock, fake recordings (no display, no sound server).

What is checked: the controller sleeps exactly until the next notice/start/end
(``wait_timeout``), starts with the schedule's options through the normal
start path, stops at the end, starts late within the window, reports misses,
refuses a start during a manual recording, says when a hotkey ended one early.
"""
from __future__ import annotations

import datetime as dt

from test_controller import Harnessless

from trayrip.desktop.controller import Cmd
from trayrip.desktop.schedule_menu import schedule_items, schedule_tooltip
from trayrip.desktop.schedule_runner import ScheduleRunner
from trayrip.desktop.state import State
from trayrip.schedule import edit
from trayrip.schedule.store import ScheduleStore
from trayrip.schedule.timers import NoTimers

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 7, 19, 50, tzinfo=UTC)  # Monday


class Clock:
    def __init__(self, t: dt.datetime):
        self.t = t

    def __call__(self) -> dt.datetime:
        return self.t

    def step(self, **kw) -> None:
        self.t += dt.timedelta(**kw)


def make(tmp_path, clock, *adds, created=None):
    (tmp_path / "cfg").mkdir(exist_ok=True)
    store = ScheduleStore(tmp_path / "cfg" / "schedules.toml")
    (tmp_path / "cfg" / "schedules.toml").write_text('timezone = "UTC"\n')
    for kw in adds:
        edit.add(store, NoTimers(), created or clock(), **kw)
    h = Harnessless(tmp_path, schedules=None)
    runner = ScheduleRunner(store, now=clock, notify=h.notes, timers=NoTimers())
    h.c._schedules = runner  # the same object app.py passes as schedules=
    h.c.run_pending()
    return h, runner


def test_sleeps_until_the_notice_then_the_start_records_with_the_options_and_stops_at_the_end(tmp_path):
    clock = Clock(T0)
    h, _ = make(tmp_path, clock, dict(when="daily 20:00", for_="1h", name="Jazz hour", options={"app": "firefox"}))
    assert h.c.wait_timeout() == 9 * 60  # the notice one minute before 20:00; nothing polls
    clock.step(minutes=9)
    h.c.tick()
    assert h.notes.summaries()[-1] == "Recording in a minute: Jazz hour"
    assert h.c.wait_timeout() == 60
    clock.step(minutes=1)
    h.c.tick()
    assert h.c.state is State.RECORDING
    rec = h.factory.made[-1]
    assert rec.options.title == "Jazz hour" and rec.options.app == "firefox"
    assert rec.options.template == "{title} {date} {time}"
    assert h.c.snapshot.schedules.active == "Jazz hour until Mon 21:00"
    assert 0 < h.c.wait_timeout() <= 0.25  # recording: the meter tick
    clock.step(minutes=60)
    h.c.tick()
    h.c.run_pending()  # the inline filer's report
    assert rec.finished
    assert "Scheduled recording ended: Jazz hour" in h.notes.summaries()
    assert h.c.state is State.IDLE
    assert h.c.wait_timeout() == (23 * 60 - 1) * 60  # tomorrow's notice


def test_without_schedules_the_idle_controller_sleeps_forever(tmp_path):
    h, _ = make(tmp_path, Clock(T0))
    assert h.c.wait_timeout() is None


def test_a_missed_start_within_the_window_starts_late_else_is_reported(tmp_path):
    clock = Clock(T0)
    created = T0 - dt.timedelta(days=3)
    adds = [dict(when="daily 20:00", for_="1h", name="Jazz hour")]
    # trayrip was not running for two days; it starts at 20:20 today
    clock.t = T0 + dt.timedelta(minutes=30)
    h, runner = make(tmp_path, clock, *adds, created=created)
    assert h.c.wait_timeout() == 0  # something to do at once
    h.c.tick()
    assert h.c.state is State.RECORDING
    missed = [n for n in h.notes.items if n[0].startswith("Missed scheduled recording")]
    assert len(missed) == 3 and all(err for _, _, err in missed)  # Fri, Sat, Sun: never silently
    assert h.c.wait_timeout() <= 0.25
    # a restart does not report them again, nor start today's run again
    runner2 = ScheduleRunner(runner._store, now=clock, notify=h.notes, timers=NoTimers())
    before = len(h.notes.items)
    runner2.wait()
    assert runner2.due(h.c._config, busy=False) == [] and len(h.notes.items) == before


def test_a_start_during_a_manual_recording_is_reported_and_a_hotkey_stops_a_scheduled_one_early(tmp_path):
    clock = Clock(T0)
    h, _ = make(tmp_path, clock, dict(when="daily 20:00", for_="1h", name="Jazz hour"))
    h.send(Cmd.TOGGLE)  # the user records by hand
    manual = h.factory.made[-1]
    clock.step(minutes=10)
    h.c.tick()
    assert len(h.factory.made) == 1 and h.factory.made[-1] is manual  # no second recording
    assert h.notes.items[-1][0] == "Scheduled recording not started: Jazz hour" and h.notes.items[-1][2]
    assert manual.options.title is None
    h.send(Cmd.TOGGLE)
    # the next day: a scheduled run, stopped with the hotkey
    clock.step(days=1)
    h.c.tick()
    assert h.c.state is State.RECORDING and h.factory.made[-1].options.title == "Jazz hour"
    h.send(Cmd.TOGGLE)
    assert "Scheduled recording stopped early: Jazz hour" in h.notes.summaries()
    assert h.factory.made[-1].finished


def test_menu_rows_tooltip_remove_and_off(tmp_path):
    clock = Clock(T0)
    h, runner = make(tmp_path, clock, dict(when="daily 20:00", for_="1h", name="Jazz hour"),
                     dict(when="2026-12-24T18:00", until="19:30", name="Christmas"))
    view = h.c.snapshot.schedules
    assert [r.label for r in view.rows] == ["Jazz hour: Mon 07 Dec 20:00-21:00", "Christmas: Thu 24 Dec 18:00-19:30"]
    assert schedule_tooltip(view) == "; next: Jazz hour Mon 20:00"

    made = []

    def Item(text, action=None, **kw):
        made.append(text)
        return (text, action, kw)

    items = schedule_items(Item, lambda *sub: list(sub), view, lambda payload: payload)
    assert items[1][1][1][1] == ("remove", view.rows[1].ident)
    h.send((Cmd.SCHEDULES, ("enable", view.rows[0].ident, False)))
    assert [r.label for r in h.c.snapshot.schedules.rows][0] == "Jazz hour: off"
    assert schedule_tooltip(h.c.snapshot.schedules) == "; next: Christmas Thu 18:00"
    assert h.c.wait_timeout() > 24 * 3600  # the one that is off does not wake it
    h.send((Cmd.SCHEDULES, ("remove", view.rows[1].ident)))
    assert [r.label for r in h.c.snapshot.schedules.rows] == ["Jazz hour: off"]
    assert h.c.wait_timeout() is None
