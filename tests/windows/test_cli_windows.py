"""`trayrip autostart`, `doctor` and crash recovery in the Windows Python under Wine."""
from __future__ import annotations

import time

from winharness import PYTHON_EXE, wait_until
from wintools import RATE, first_sound_seconds, loud_seconds, peak_frequency, read, sounding_seconds, write_tone

RUN_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
BYTES_PER_SECOND = RATE * 2 * 2  # 48 kHz, stereo, 16 bit


def test_autostart_writes_and_removes_the_run_key(wine):
    on = wine.trayrip("autostart", "on")
    assert on.returncode == 0, on.stderr
    assert on.stdout.startswith("on\t"), on.stdout
    query = wine.reg("query", RUN_KEY, "/v", "trayrip")
    assert query.returncode == 0, query.stderr
    value = query.stdout.split("REG_SZ", 1)[1].strip()
    # It starts this interpreter's trayrip (the windowless twin of python.exe, so no console opens).
    assert "pythonw.exe" in value.lower() and "trayrip" in value, value
    assert wine.trayrip("autostart", "status").stdout.startswith("on\t")

    off = wine.trayrip("autostart", "off")
    assert off.returncode == 0 and off.stdout.startswith("off\t"), (off.stdout, off.stderr)
    assert wine.reg("query", RUN_KEY, "/v", "trayrip").returncode != 0, "the Run value is still there"
    assert wine.trayrip("autostart", "status").stdout.startswith("off\t")


def test_killed_recording_is_recovered_at_the_next_start_losing_at_most_a_second(wine, music, tmp_path):
    playlists = music / "playlists"
    tone = write_tone(tmp_path / "long.wav", 700, 8.0)
    proc = wine.spawn_trayrip("record", "-q")
    try:
        def part():
            found = list(playlists.glob(".*.part")) if playlists.is_dir() else []
            return found[0] if found and found[0].stat().st_size > BYTES_PER_SECOND // 4 else None

        capture = wait_until(lambda: proc.poll() is not None or part(), 30, "the capture file to grow")
        assert proc.poll() is None, proc.stderr_text()
        import subprocess

        player = subprocess.Popen(["paplay", f"--device=trayrip_test_sink", str(tone)], env=wine.env)
        played_from = time.monotonic()
        size0 = capture.stat().st_size
        # 2.5 s of audio on disk since the tone began, then a hard kill (no cleanup runs in the process).
        wait_until(lambda: capture.stat().st_size >= size0 + int(2.5 * BYTES_PER_SECOND), 30, "2.5 s more on disk")
        wine.kill(proc)
        played = time.monotonic() - played_from
        player.kill()
        player.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert capture.exists(), "the capture file was not left behind"

    rec = wine.trayrip("recover", timeout=60)
    assert rec.returncode == 0, rec.stderr
    filed = [p for p in playlists.iterdir() if not p.name.startswith(".")]
    assert len(filed) == 1, (filed, rec.stderr)
    data, rate = read(filed[0])
    assert abs(peak_frequency(data, rate) - 700) < 3
    kept = loud_seconds(data, rate)
    print(f"kill -9 after {played:.2f} s of tone: {kept:.2f} s of it recovered")
    assert kept >= played - 1.0, f"lost {played - kept:.2f} s of {played:.2f} s"
    assert sounding_seconds(data, rate) <= played + 0.3  # (Wine may put silence where data came late, see the record tests)
    assert first_sound_seconds(data, rate) < 0.2  # trimmed at the start as a normal recording
    assert not list(playlists.glob(".*.part")), "the capture file stayed"


def test_doctor_passes_and_names_the_loopback_check_when_pulseaudio_is_gone(wine):
    ok = wine.trayrip("doctor", timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wine.stop_pulse()
    try:
        bad = wine.trayrip("doctor", timeout=90)
    finally:
        wine.restart_pulse()
    assert bad.returncode == 1, bad.stdout + bad.stderr
    failing = [line for line in (bad.stdout + bad.stderr).splitlines() if "FAIL" in line.upper()]
    assert failing, bad.stdout
    # Without PulseAudio behind Wine there is no loopback device: the first failing check says so.
    assert failing[0].startswith("FAIL  loopback source: no WASAPI loopback device"), failing


def test_one_application_gives_the_clear_message(wine):
    """Wine 10's ActivateAudioInterfaceAsync knows no process-loopback path, and trayrip does not use it yet."""
    out = wine.trayrip("record", "--app", "firefox", "-d", "1")
    assert out.returncode != 0
    assert "not supported on Windows" in out.stderr and "Traceback" not in out.stderr, out.stderr
