"""schedules.toml: bad entries name their line and the rest are kept; add/remove/on/off with past, overlap and syntax errors."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from trayrip.config import Config
from trayrip.schedule import edit
from trayrip.schedule.rules import ScheduleError
from trayrip.schedule.store import RunLog, ScheduleStore
from trayrip.schedule.timers import NoTimers

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)  # Monday morning


class RecordingTimers:
    def __init__(self):
        self.calls = []

    def install(self, entry, tz, tzname=""):
        self.calls.append(("install", entry.id, entry.enabled, tzname))

    def remove(self, ident):
        self.calls.append(("remove", ident))


def store_with(tmp_path, text: str) -> ScheduleStore:
    path = tmp_path / "schedules.toml"
    path.write_text(text)
    return ScheduleStore(path)


def test_a_bad_entry_names_its_line_and_the_others_are_kept(tmp_path):
    store = store_with(tmp_path, '''timezone = "Europe/Berlin"

[[schedule]]
name = "Jazz hour"
when = "Mon,Thu 20:00"
for = "1h"
app = "firefox"

[[schedule]]
name = "typo"
when = "Mon,Thx 20:00"
for = "1h"

[[schedule]]
name = "bad format"
when = "daily 07:00"
until = "08:00"
format = "wma"

[[schedule]]
name = "Christmas"
when = "2026-12-24T18:00"
until = "19:30"
''')
    s = store.load()
    assert [e.name for e in s.entries] == ["Jazz hour", "Christmas"]
    assert len(s.problems) == 2
    assert s.problems[0].startswith("schedules.toml line 11: when:") and "Thx" in s.problems[0]
    assert s.problems[1].startswith("schedules.toml line 18: format:")
    assert s.entries[0].options == {"app": "firefox"}
    assert s.tz == BERLIN
    assert s.entries[1].next_window(NOW, s.tz).end.astimezone(BERLIN) == dt.datetime(2026, 12, 24, 19, 30, tzinfo=BERLIN)


def test_not_toml_and_missing_keys_are_reported(tmp_path):
    assert "not valid TOML" in store_with(tmp_path, "[[schedule]\n").load().problems[0]
    s = store_with(tmp_path, '[[schedule]]\nname = "x"\nfor = "1h"\n').load()
    assert s.entries == () and "line 1: when: missing" in s.problems[0]
    s = store_with(tmp_path, '[[schedule]]\nwhen = "daily 10:00"\nfor = "1h"\ncolour = "red"\n').load()
    assert "unknown key 'colour'" in s.problems[0]


def test_add_list_remove_round_trip(tmp_path):
    store = ScheduleStore(tmp_path / "cfg" / "schedules.toml")
    timers = RecordingTimers()
    entry, first, notes = edit.add(store, timers, NOW, when="Mon,Thu 20:00", for_="1h", name="Jazz hour",
                                   options={"app": "firefox", "format": "flac", "split": None})
    assert first.start.astimezone(store.load().tz).strftime("%H:%M") == "20:00"
    edit.add(store, timers, NOW, when="2026-12-24T18:00", until="19:30", name="Christmas")
    loaded = store.load()
    assert loaded.problems == ()
    assert [e.name for e in loaded.entries] == ["Jazz hour", "Christmas"]
    assert loaded.entries[0].options == {"app": "firefox", "format": "flac"}
    opts = loaded.entries[0].recording_options(Config())
    assert opts.title == "Jazz hour" and opts.app == "firefox" and opts.format == "flac"
    assert opts.template == "{title} {date} {time}"
    rows = edit.listing(loaded, NOW)
    assert rows[1].text(loaded.tz).startswith("2  Christmas  2026-12-24T18:00 until 19:30  [next Thu 2026-12-24 18:00]")
    gone, _ = edit.remove(store, timers, 1)
    assert gone.name == "Jazz hour" and [e.name for e in store.load().entries] == ["Christmas"]
    assert timers.calls[0][0] == "install" and timers.calls[-1] == ("remove", gone.id)
    with pytest.raises(ScheduleError, match="no schedule 5"):
        edit.remove(store, timers, 5)
    off, _ = edit.set_enabled(store, timers, 1, False, NOW)
    assert not store.load().entries[0].enabled and timers.calls[-1][2] is False


def test_past_overlap_and_syntax_are_refused(tmp_path):
    store = ScheduleStore(tmp_path / "schedules.toml")
    t = NoTimers()
    with pytest.raises(ScheduleError, match="in the past"):
        edit.add(store, t, NOW, when="2026-12-01T18:00", for_="1h")
    edit.add(store, t, NOW, when="Mon,Thu 20:00", for_="1h", name="Jazz hour")
    with pytest.raises(ScheduleError, match="overlaps schedule 1 \\(Jazz hour\\) on Thu 2026-12-10 20:00"):
        edit.add(store, t, NOW, when="2026-12-10T20:30", for_="1h")
    with pytest.raises(ScheduleError, match="overlaps"):
        edit.add(store, t, NOW, when="daily 19:30", until="20:01")
    with pytest.raises(ScheduleError, match="its own"):
        edit.add(store, t, NOW, when="daily 10:00", for_="25h")
    with pytest.raises(ScheduleError, match="not a day"):
        edit.add(store, t, NOW, when="Mon,Thx 20:00", for_="1h")
    edit.add(store, t, NOW, when="daily 19:00", until="20:00")  # touching, not overlapping
    assert len(store.load().entries) == 2


def test_a_file_with_problems_is_never_written_over(tmp_path):
    store = store_with(tmp_path, '[[schedule]]\nwhen = "Mon,Thx 20:00"\nfor = "1h"\n')
    before = store.path.read_text()
    with pytest.raises(ScheduleError, match="line 2: when: 'Thx' is not a day"):
        edit.add(store, NoTimers(), NOW, when="daily 10:00", for_="1h")
    assert store.path.read_text() == before


def test_run_log_survives_a_restart(tmp_path):
    log = RunLog(tmp_path / "runs.json")
    start = dt.datetime(2026, 12, 7, 19, 0, tzinfo=dt.timezone.utc)
    log.mark("abc", start)
    assert RunLog(tmp_path / "runs.json").last("abc") == start
    (tmp_path / "broken.json").write_text("{not json")
    assert RunLog(tmp_path / "broken.json").last("abc") is None
