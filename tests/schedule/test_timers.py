"""OS timers: the systemd user timer's units (parsed; OnCalendar checked by systemd-analyze) and Windows' schtasks calls."""
from __future__ import annotations

import configparser
import itertools
import datetime as dt
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from trayrip.schedule import edit
from trayrip.schedule.rules import parse_when
from trayrip.schedule.store import ScheduleStore
from trayrip.schedule.timers import LEAD, SystemdTimers, WindowsTasks, earlier, on_calendar, task_xml

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.timezone.utc)


class FakeRunner:
    def __init__(self, answers=None):
        self.calls: list[list[str]] = []
        self.answers = answers or {}
        self.files: dict[str, str] = {}

    def __call__(self, argv):
        self.calls.append(list(argv))
        if "/XML" in argv:
            self.files[argv[argv.index("/TN") + 1]] = Path(argv[argv.index("/XML") + 1]).read_text(encoding="utf-16")
        return self.answers.get(argv[1] if argv[0] == "schtasks" else argv[2], (0, ""))


def units(folder: Path) -> dict[str, configparser.ConfigParser]:
    out = {}
    for path in folder.iterdir():
        cp = configparser.ConfigParser(interpolation=None)
        cp.optionxform = str
        cp.read_string(path.read_text())
        out[path.name] = cp
    return out


def test_the_systemd_timer_is_written_enabled_and_removed_with_the_schedule(tmp_path):
    store = ScheduleStore(tmp_path / "schedules.toml")
    store.path.write_text('timezone = "Europe/Berlin"\n')
    runner = FakeRunner()
    timers = SystemdTimers(tmp_path / "units", runner=runner, command=["/venv/bin/python", "-m", "trayrip", "schedule", "run"])
    entry, _, notes = edit.add(store, timers, NOW, when="Mon,Thu 20:00", for_="1h", name="Jazz hour")
    assert notes == []
    found = units(tmp_path / "units")
    name = f"trayrip-schedule-{entry.id}"
    assert set(found) == {f"{name}.timer", f"{name}.service"}
    timer = found[f"{name}.timer"]
    assert timer["Timer"]["OnCalendar"] == "Mon,Thu *-*-* 19:59:00 Europe/Berlin"  # a minute early: the tray starts
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == f"{name}.service"
    assert timer["Install"]["WantedBy"] == "timers.target"
    assert found[f"{name}.service"]["Service"]["ExecStart"] == "/venv/bin/python -m trayrip schedule run"
    assert runner.calls == [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", f"{name}.timer"]]
    edit.remove(store, timers, 1)
    assert list((tmp_path / "units").iterdir()) == []
    assert runner.calls[-2] == ["systemctl", "--user", "disable", "--now", f"{name}.timer"]


def test_a_timer_systemd_cannot_run_is_reported_not_fatal(tmp_path):
    store = ScheduleStore(tmp_path / "schedules.toml")
    runner = FakeRunner({"daemon-reload": (1, "Failed to connect to bus: No medium found")})
    _, _, notes = edit.add(store, SystemdTimers(tmp_path / "u", runner=runner), NOW, when="daily 20:00", for_="1h")
    assert len(notes) == 1 and "No medium found" in notes[0] and "tray app runs" in notes[0]
    assert len(store.load().entries) == 1


@pytest.mark.parametrize("when, tz", [
    ("Mon,Thu 20:00", "Europe/Berlin"), ("daily 02:30", "Europe/Berlin"), ("weekdays 07:05", ""),
    ("Sat-Sun 23:59", "America/New_York"), ("2026-12-24T18:00", "Europe/Berlin"), ("2028-02-29T00:00", ""),
    ("Mon 00:00", "Europe/Berlin"), ("2029-01-01T00:00:30", ""),
])
def test_systemd_reads_on_calendar_as_our_next_run(when, tz):
    exe = shutil.which("systemd-analyze")
    assert exe, "systemd-analyze is part of the test set-up (Debian: systemd)"
    parsed = parse_when(when)
    expr = on_calendar(earlier(parsed), tz)
    out = subprocess.run([exe, "calendar", "--iterations=3", expr], capture_output=True, text=True,
                         env={"TZ": "UTC", "PATH": "/usr/bin:/bin"}, check=True).stdout
    elapses = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", out)
    assert elapses, out
    from trayrip.schedule.rules import starts_after, zone

    now = dt.datetime.now(dt.timezone.utc)
    ours = [(s - LEAD).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            for s in itertools.islice(starts_after(parsed, now, zone(tz or "UTC")), 3)]
    assert elapses[: len(ours)] == ours[: len(elapses)] and elapses


def test_windows_task_is_created_from_xml_and_deleted(tmp_path):
    store = ScheduleStore(tmp_path / "schedules.toml")
    store.path.write_text('timezone = "UTC"\n')
    runner = FakeRunner()
    tasks = WindowsTasks(runner=runner, command=[r"C:\Py\pythonw.exe", "-m", "trayrip", "schedule", "run"], now=lambda: NOW)
    entry, _, _ = edit.add(store, tasks, NOW, when="Mon,Thu 20:00", for_="1h", name="Jazz & blues")
    task = rf"\trayrip\schedule-{entry.id}"
    create = runner.calls[0]
    assert create[:4] == ["schtasks", "/Create", "/TN", task] and create[4] == "/XML" and create[6] == "/F"
    assert not Path(create[5]).exists()  # the XML file is removed after use
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    root = ET.fromstring(runner.files[task].split("\n", 1)[1])
    days = [d.tag.split("}")[1] for d in root.find(".//t:DaysOfWeek", ns)]
    assert days == ["Monday", "Thursday"]
    assert root.find(".//t:StartBoundary", ns).text.endswith("19:59:00")  # UTC here; a minute before the start
    assert root.find(".//t:StartWhenAvailable", ns).text == "true"
    assert root.find(".//t:Command", ns).text == r"C:\Py\pythonw.exe"
    assert root.find(".//t:Arguments", ns).text == "-m trayrip schedule run"
    assert "Jazz & blues" in root.find(".//t:Description", ns).text
    edit.remove(store, tasks, 1)
    assert runner.calls[-2:] == [["schtasks", "/Query", "/TN", task], ["schtasks", "/Delete", "/TN", task, "/F"]]


def test_a_minute_early_crosses_midnight_and_month_ends():
    assert earlier(parse_when("Mon,Thu 00:00")).text() == "Wed,Sun 23:59"
    assert earlier(parse_when("2027-03-01T00:00")).text() == "2027-02-28T23:59"
    assert earlier(parse_when("2028-03-01T00:00")).text() == "2028-02-29T23:59"
    assert earlier(parse_when("daily 00:00")).text() == "daily 23:59"


def test_windows_once_is_a_time_trigger():
    from trayrip.schedule.store import entry_from

    e = entry_from({"when": "2026-12-24T18:00", "until": "19:30", "name": "x"})
    root = ET.fromstring(task_xml(e, dt.datetime(2026, 12, 24, 18, 0), ["py.exe", "-m", "trayrip"]).split("\n", 1)[1])
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert root.find(".//t:TimeTrigger/t:StartBoundary", ns).text == "2026-12-24T18:00:00"
