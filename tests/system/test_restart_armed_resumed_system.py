"""The sound server restarting while the tray is armed, and after a resume from sleep (issue 22, item 3).

* **Armed**: Arm (from the tray menu) waits for sound; the server restarts
  meanwhile. Arm must still be waiting when the server is back (the armed
  icon, no error), and record the burst that comes then, whole.
* **Resumed**: a recording runs with sleep held (python-dbusmock's logind on
  a private system bus); ``PrepareForSleep(true)`` syncs the capture file,
  the server restarts (as it may while the machine sleeps: devices come back
  new), ``PrepareForSleep(false)``: the recording goes on, into one file,
  with the tone played before the suspend and the one played after.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import audio_tools as at
from harness import wait_until
from recorder_tools import wait_for_audio
from test_follow_output_system import PLAYER_LATENCY, tone_seconds
from test_gates_system import PAD_BEFORE, ONSET_TOL, assert_starts_with, tray_armed_from_the_menu
from test_tray_system import App, wait_recordings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "desktop"))
from test_sleep_inhibit import HELD, inhibitors, logind, prepare_for_sleep  # noqa: E402,F401  (the fixture)

pytestmark = pytest.mark.both_servers

TONE = 1.5


def test_arm_waits_across_a_server_restart_and_records_the_sound_after_it(harness, user_env, tmp_home, tmp_path):
    from test_tray_system import is_idle, red_fraction

    with tray_armed_from_the_menu(harness, user_env, tmp_home, tmp_path) as (app, burst, reference):
        app.wait_log(r"audio flowing")
        mark = len(harness.notifications())
        harness.restart_pulse()
        app.wait_log(r"the sound server is back after [\d.]+ s", timeout=20)
        app.wait_icon(lambda img: not is_idle(img) and red_fraction(img) > 0.05, "still the armed icon")
        # The new stream's first audio can lag its opening (README, "What we learnt about PulseAudio
        # monitors"): 1 s of the sink's own clock before the burst, as the armed test in test_gates_system.
        with harness.record() as clock:
            clock.wait_frames(clock.frames_received + 48000)
        assert not list((tmp_home / "Music" / "playlists").glob("*.wav")), "filed while armed and silent"
        harness.play(burst, latency_msec=PLAYER_LATENCY)
        [path] = wait_recordings(app, 1)  # filed by itself: stop on silence
        app.wait_icon(is_idle, "idle again after filing")
        notes = harness.notifications(since=mark)
        assert not [n for n in notes if "problem" in n["summary"].lower() or "error" in n["summary"].lower()], notes
        assert "Traceback" not in app.log()
    data, _ = at.read_audio(path)
    begins = assert_starts_with(data, reference, "armed across a restart")
    assert abs(begins - PAD_BEFORE) <= ONSET_TOL


def test_resume_with_a_server_restart_goes_on_in_one_file(harness, harness_environ, logind, tmp_path):
    from trayrip.api import Recording, RecordingOptions
    from trayrip.desktop.controller import Snapshot
    from trayrip.desktop.sleep_inhibit import SleepGuard
    from trayrip.desktop.state import State

    a = at.write_wav(tmp_path / "a.wav", at.tone(600, TONE, amplitude=0.4))
    b = at.write_wav(tmp_path / "b.wav", at.tone(1300, TONE, amplitude=0.4))
    folder = tmp_path / "out"
    guard = SleepGuard()
    rec = Recording(RecordingOptions(folder=folder))
    try:
        rec.start()
        wait_for_audio(rec)
        guard.update(Snapshot(state=State.RECORDING, folder=folder))
        assert inhibitors(logind) == HELD
        harness.play(a, latency_msec=PLAYER_LATENCY)
        prepare_for_sleep(logind, True)
        wait_until(lambda: guard.synced == 1 and inhibitors(logind) == [("idle", "block")], 10,
                   "the capture file synced and the delay lock let go")
        harness.restart_pulse()  # asleep: the server comes back with new devices
        prepare_for_sleep(logind, False)
        wait_until(lambda: inhibitors(logind) == HELD, 10, "the delay lock again after resume")
        written = rec.status().bytes_written
        wait_until(lambda: rec.status().bytes_written > written + 48000 * 4, 20, "the recording to go on")
        harness.play(b, latency_msec=PLAYER_LATENCY)
        filed = rec.stop()
        guard.update(Snapshot(state=State.IDLE, folder=folder))
    finally:
        if rec.running:
            rec.stop()
        guard.close()
    assert [p.name for p in folder.iterdir()] == [filed.path.name]  # one file
    data, rate = at.read_audio(filed.path)
    for name, freq in (("before the suspend", 600), ("after the resume", 1300)):
        seconds = tone_seconds(data, rate, freq)
        assert seconds >= 0.9 * TONE, f"the tone played {name}: {seconds:.2f} s of {TONE} s"


@pytest.mark.server("pulseaudio")  # the tray's decision; the message is pactl's on both servers
def test_a_start_while_the_server_is_down_is_idle_again_when_it_is_back(harness, user_env, tmp_home, tmp_path):
    """Issue 22, item 4: the hotkey pressed while the server restarts; the error leaves by itself."""
    from test_plan_system import toggle
    from test_tray_system import is_idle, is_recording

    app = App(harness, user_env, tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_icon(is_idle, "the idle icon")
        mark = len(harness.notifications())
        harness.kill_pulse()
        toggle(user_env)
        app.wait_icon(lambda img: not is_idle(img) and not is_recording(img), "the error icon")
        harness.start_pulse()
        back = harness.wait_notification(summary="the sound server is back", since=mark, timeout=30)
        assert "next recording can start" in back["body"]
        app.wait_icon(is_idle, "the idle icon once the server is back")
        notes = harness.notifications(since=mark)
        assert sum("sound server is back" in n["summary"] for n in notes) == 1, notes
        assert all("Connection refused" not in n["body"] and "seq:" not in n["body"] for n in notes), notes
        toggle(user_env)  # and the next recording starts
        app.wait_icon(is_recording, "recording")
        assert "Traceback" not in app.log()
    finally:
        app.stop()


def _subscribers(pid: int) -> set[int]:
    """Process ids of the ``pactl subscribe`` children of ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid \
                    and (entry / "cmdline").read_bytes().split(b"\0")[1:2] == [b"subscribe"]:
                found.add(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def test_armed_for_an_application_waits_across_a_server_restart(harness, user_env, tmp_path):
    """`record --app NAME --wait-for-sound` while NAME is not playing yet, and the server restarts."""
    from app_player import AppPlayer
    from recorder_tools import finish, start_record

    folder = tmp_path / "out"
    proc = start_record(user_env, "--app", "tonearmed", "--wait-for-sound", "--stop-on-silence", "1",
                        "--folder", str(folder))
    try:
        before = wait_until(lambda: proc.poll() is None and _subscribers(proc.pid), 15, "armed: watching streams")
        harness.restart_pulse()
        wait_until(lambda: proc.poll() is not None or _subscribers(proc.pid) - before, 20,
                   "armed again after the restart")
        assert proc.poll() is None, proc.communicate()[1]
        with AppPlayer(harness, "ToneArmed") as player:
            # 2 s of the stream's silence first: audio played before trayrip has noticed and routed the new
            # stream is not captured (that takes up to about a second under load); Arm waits for the tone
            player.play(np.concatenate([at.silence(2.0), at.tone(880, TONE, amplitude=0.4)]))
            path = finish(proc)  # stops by itself: stop on silence
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    data, rate = at.read_audio(path)
    seconds = tone_seconds(data, rate, 880)
    assert seconds >= 0.9 * TONE, f"the tone played after the restart: {seconds:.2f} s of {TONE} s"
