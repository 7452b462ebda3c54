"""Scheduled recordings in the real tray app (harness desktop + sound server).

One tray start covers the issue's checks, to keep the suite short:

1. a schedule whose start was missed while trayrip was not running, but
   whose window is still open, starts at once (late) and files the tone
   under its name;
2. a schedule added 3 s ahead (``trayrip schedule run`` tells the running
   tray, as the OS timer does) records a tone for 4 s from its start time and
   files it under its name; notifications at the start and when saved;
3. the tray's Schedules submenu shows the entries and removes one (keyboard:
   Schedules > first entry > Remove).
"""
from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

import audio_tools as at
from harness import wait_until
from test_tray_system import App, is_idle, recordings, tone_file

from trayrip.schedule.store import ScheduleStore

UTC = dt.timezone.utc


def _iso(t: dt.datetime) -> str:
    return t.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


@pytest.mark.both_servers
def test_tray_runs_schedules_late_on_time_and_from_the_menu(harness, user_env, tmp_home, tmp_path):
    env = dict(user_env, TRAYRIP_TIMERS="none")  # the container's own systemd is not ours to change
    path = tmp_home / ".config" / "trayrip" / "schedules.toml"
    path.parent.mkdir(parents=True)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    missed_start = now - dt.timedelta(seconds=2)
    path.write_text(
        'timezone = "UTC"\n\n[[schedule]]\nid = "missed"\nname = "Missed show"\n'
        f'when = "{_iso(missed_start)}"\nfor = "10s"\ncreated = "{(now - dt.timedelta(minutes=5)).isoformat()}"\n'
    )
    first_tone = harness.play(tone_file(tmp_path, 660, 14.0), wait=False, latency_msec=50)  # as media players do
    mark = len(harness.notifications())
    app = App(harness, env, tmp_home, tmp_path)
    try:
        # 1. started late, for what is left of the window
        app.wait_log(r"starting Missed show \d+ s late")
        late = harness.wait_notification(summary="Scheduled recording: Missed show", since=mark)
        assert "recording until" in late["body"]
        [missed_file] = wait_recordings_named(app, "Missed show", timeout=25)
        data, rate = at.read_audio(missed_file)
        length = len(data) / rate
        assert 2.0 < length < 8.6, f"{missed_file.name}: {length:.2f} s (the window's last part only)"
        assert abs(at.dominant_frequency(data, rate) - 660) < 3
        assert at.band_level_db(data, 440, rate) < -40  # not the decoy microphone
        first_tone.terminate()  # the recording is filed: the rest of the tone is not needed
        first_tone.wait(10)
        app.wait_docked()
        app.wait_icon(is_idle, "the idle icon")

        # 2. three seconds ahead, four seconds long
        store = ScheduleStore(path)
        from trayrip.schedule import edit
        from trayrip.schedule.timers import NoTimers

        # The tone plays before the window opens: the two CLI calls below may take seconds under load, and a
        # tone starting late would be trimmed as leading silence.
        tone = harness.play(tone_file(tmp_path, 880, 12.0), wait=False, latency_msec=50)
        start = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
        mark = len(harness.notifications())
        edit.add(store, NoTimers(), dt.datetime.now(UTC), when=_iso(start), for_="4s", name="Jazz hour")
        told = subprocess.run([sys.executable, "-m", "trayrip", "schedule", "run"], env=env, capture_output=True,
                              text=True, timeout=30)
        assert told.returncode == 0 and "checks its schedules" in told.stderr, told.stderr
        listed = subprocess.run([sys.executable, "-m", "trayrip", "schedule", "list"], env=env, capture_output=True,
                                text=True, timeout=30)
        assert "Jazz hour" in listed.stdout and "[next " in listed.stdout, listed.stdout + listed.stderr
        [jazz] = wait_recordings_named(app, "Jazz hour", timeout=30)
        tone.terminate()
        tone.wait(10)
        captures = [float(m.group(1)) for m in app.wait_log(r"capture running at (\d+\.\d+)", count=2)]
        began = captures[-1] - start.timestamp()
        print(f"\nscheduled start: capture running {began * 1000:.0f} ms after the set time")
        assert -0.05 <= began < 1.5, f"the capture began {began:.2f} s from the set time"
        data, rate = at.read_audio(jazz)
        length = len(data) / rate
        # the window closes 4 s after the set time, and its start is measured above (0.5 s: the trim's padding)
        assert 4.0 - began - 0.5 < length < 4.5, f"{jazz.name}: {length:.2f} s, not the 4 s window ({began:.2f} s late)"
        assert abs(at.dominant_frequency(data, rate) - 880) < 3
        harness.wait_notification(summary="Scheduled recording: Jazz hour", since=mark)
        harness.wait_notification(summary="Scheduled recording ended: Jazz hour", since=mark)
        # the missed show's own "Recording saved" may arrive after the mark: wait for this one's
        harness.wait_notification(lambda n: jazz.name in n.get("body", ""), summary="Recording saved", since=mark)

        # 3. the Schedules submenu: the first entry (the missed one, now over) > Remove
        app.wait_icon(is_idle, "the idle icon after the scheduled recording")
        app.open_menu()
        for key in ("Down",) * 5 + ("Right", "Right", "Down", "Return"):  # Start, Arm, Open folder, Recent, Schedules
            harness.xdotool("key", key)
        wait_until(lambda: "Missed show" not in path.read_text(), 10, "the entry to be removed from the menu", 0.05)
        assert [e.name for e in store.load().entries] == ["Jazz hour"]
        app.wait_log(r"saved 1 schedule\(s\)")
        assert "Traceback" not in app.log() + app.stderr()
    finally:
        app.stop()


def wait_recordings_named(app: App, name: str, timeout: float) -> list:
    def found():
        app.check_alive()
        files = [p for p in recordings(app.home) if p.name.startswith(name)]
        return files or None

    return wait_until(found, timeout, f"a recording named {name!r}", 0.1)
