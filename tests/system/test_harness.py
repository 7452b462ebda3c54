"""The system-test harness itself: each part is real and does what tests assume.

These tests check measured values (frequencies, burst positions, pixels,
notification text), so a harness that silently records the wrong device or
shows nothing fails here first.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import numpy as np
import pytest

import audio_tools as at
from harness import RATE, Harness, HarnessError, wait_until


# ------------------------------------------------------------------ audio_tools (pure)

def test_audio_tools_measure_synthetic_bursts():
    b = at.tone_bursts([500, 1000, 2000], burst=0.3, gap=0.2, lead=0.25, tail=0.1)
    found = at.burst_frequencies(b.data)
    assert [round(f) for _, _, f in found] == [500, 1000, 2000]
    assert [a for a, _, _ in found] == pytest.approx(b.onsets, abs=0.003)
    assert at.rms_dbfs(at.tone(1000, 1.0, amplitude=1.0)) == pytest.approx(-3.01, abs=0.05)
    delayed = np.concatenate([at.silence(0.1234), 0.3 * b.data])
    assert at.xcorr_lag(b.data, delayed) == round(0.1234 * at.RATE)
    assert at.normalized_xcorr_peak(b.data, delayed) > 0.999
    assert at.band_level_db(b.data, 440, start=0.8, end=1.0) < -40


def test_espeak_wav(tmp_path):
    path = at.espeak_wav("testing one two three", tmp_path / "speech.wav")
    data, rate = at.read_audio(path)
    assert rate == 48000 and data.shape[1] == 2
    assert len(data) / rate > 0.5
    assert at.rms_dbfs(data) > -40


# ------------------------------------------------------------------ PulseAudio

def test_pulse_has_null_sink_monitor_and_decoy(harness):
    sinks = {s["name"]: s for s in harness.pactl_json("list", "sinks")}
    sources = {s["name"]: s for s in harness.pactl_json("list", "sources")}
    assert harness.sink == "trayrip_test_sink"
    assert harness.sink in sinks
    assert sinks[harness.sink]["sample_specification"] == "s16le 2ch 48000Hz"
    assert harness.monitor in sources
    assert harness.decoy_source in sources
    assert harness.pactl("get-default-sink").strip() == harness.sink
    assert harness.pactl("get-default-source").strip() == harness.decoy_source
    # Clients find the server only through harness.env.
    assert harness.env["PULSE_SERVER"].startswith("unix:" + str(harness.runtime_dir))
    assert oct(os.stat(harness.runtime_dir).st_mode & 0o777) == "0o700"


def test_alignment_lets_one_lost_pipewire_cycle_through_and_nothing_else():
    rng = np.random.default_rng(1)
    ref = (0.1 * rng.standard_normal((3 * RATE, 2))).astype(np.float32)  # every piece found at one lag only
    played = np.concatenate([at.silence(0.1), ref, at.silence(0.3)]).astype(np.float32)

    def cut(x, at_second, frames):
        i = round(at_second * RATE)
        return np.concatenate([x[:i], x[i + frames:]])

    assert at.alignment(ref, played, RATE, 1024) == pytest.approx((1.0, 0.1, 0.1), abs=1e-6)
    one = cut(played, 1.3, 1024)
    assert at.alignment(ref, one, RATE)[0] < 0.9  # the plain check (PulseAudio) fails it
    assert at.alignment(ref, one, RATE, 1024) == pytest.approx((1.0, 0.1, 0.1 - 1024 / RATE), abs=1e-6)
    for other in (cut(cut(played, 1.3, 1024), 2.5, 1024), cut(played, 1.3, 1500), cut(played, 1.3, 2048)):
        assert at.alignment(ref, other, RATE, 1024)[0] < 0.9


@pytest.mark.both_servers
def test_monitor_records_what_is_played(harness, tmp_path):
    bursts = at.write_bursts(tmp_path / "bursts.wav", [500, 1000, 2000],
                             burst=0.3, gap=0.3, lead=0.2, tail=0.2)
    rec = harness.record()  # the null sink's monitor, once it delivers
    try:
        harness.play(bursts.path)
        rec.wait_frames(rec.frames_received + RATE * 3 // 10)  # the tail still in flight
    finally:
        data = rec.stop()

    found = at.burst_frequencies(data)
    assert [round(f) for _, _, f in found] == [500, 1000, 2000], found
    starts = np.array([a for a, _, _ in found])
    assert np.diff(starts) == pytest.approx(np.diff(bursts.onsets), abs=0.01)
    # Bit-exact path (48 kHz s16 in and out): the recording is the file.
    assert at.normalized_xcorr_peak(bursts.data, data) > 0.98
    assert at.band_level_db(data, 440, start=found[1][0], end=found[1][1]) < -40


@pytest.mark.both_servers
def test_default_source_is_the_440hz_decoy(harness, tmp_path):
    tone = at.write_bursts(tmp_path / "tone.wav", [1000], burst=1.0)
    player = harness.play(tone.path, wait=False)  # into the sink: must not be heard
    rec = harness.record("@DEFAULT_SOURCE@", channels=1)
    try:
        rec.wait_frames(24000, timeout=5)
    finally:
        data = rec.stop()
        player.wait(10)
    assert at.dominant_frequency(data[-24000:]) == pytest.approx(440, abs=2)
    assert at.rms_dbfs(data) > -20


@pytest.mark.both_servers
def test_null_sink_monitor_is_silent_while_nothing_plays(harness):
    rec = harness.record()
    try:
        rec.wait_frames(4800, timeout=6)
    finally:
        data = rec.stop()
    assert at.rms_dbfs(data) == float("-inf")


PYAUDIO_RECORDER = textwrap.dedent(
    """
    import json, os, sys, time
    import numpy as np, soundfile as sf
    # PortAudio's ALSA/JACK probing chatter goes to the log, not the test output.
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    import pyaudio
    pa = pyaudio.PyAudio()
    os.dup2(saved, 2)
    names = [pa.get_device_info_by_index(i)["name"] for i in range(pa.get_device_count())]
    index = names.index("pulse")
    rate, frames_wanted = 48000, int(float(sys.argv[2]) * 48000)
    stream = pa.open(format=pyaudio.paInt16, channels=2, rate=rate, input=True,
                     input_device_index=index, frames_per_buffer=1024)
    print(json.dumps({"devices": names}), flush=True)
    chunks, got, deadline = [], 0, time.monotonic() + 15
    while got < frames_wanted and time.monotonic() < deadline:
        buf = stream.read(1024, exception_on_overflow=False)
        chunks.append(np.frombuffer(buf, dtype="<i2").reshape(-1, 2))
        got += len(chunks[-1])
    stream.stop_stream(); stream.close(); pa.terminate()
    sf.write(sys.argv[1], np.concatenate(chunks), rate, subtype="PCM_16")
    """
)


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError(f"no output from the PyAudio recorder in {timeout} s")
    return proc.stdout.readline()


@pytest.mark.parametrize(
    "pulse_source, expected_hz",
    [("trayrip_test_sink.monitor", 1000), (None, 440)],
    ids=["PULSE_SOURCE=monitor", "default-source"],
)
def test_portaudio_records_through_the_pulse_plugin(harness, tmp_path, pulse_source, expected_hz):
    """PyAudio's device "pulse" records what PULSE_SOURCE names (else the default source)."""
    script = tmp_path / "pa_record.py"
    script.write_text(PYAUDIO_RECORDER)
    out = tmp_path / "pa.wav"
    env = dict(harness.env)
    if pulse_source:
        env["PULSE_SOURCE"] = pulse_source
    tone = at.write_bursts(tmp_path / "tone.wav", [1000], burst=1.0, lead=0.2)
    proc = subprocess.Popen([sys.executable, str(script), str(out), "2.5"], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(_readline(proc, 20))
        assert "pulse" in info["devices"]
        harness.play(tone.path)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    data, rate = at.read_audio(out)
    assert rate == 48000 and len(data) >= 2.5 * 48000
    loud = at.find_bursts(data, rate, threshold_db=-30)
    assert loud, f"nothing audible recorded (level {at.rms_dbfs(data):.1f} dBFS)"
    a, b = loud[0] if expected_hz == 1000 else (0.5, 2.0)
    assert at.dominant_frequency(data, rate, a + 0.05, b - 0.05) == pytest.approx(expected_hz, abs=3)
    if expected_hz == 1000:
        assert b - a == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------------ X, tray, notifications

def test_xvfb_screen_and_record_extension(harness):
    assert harness.xdotool("getdisplaygeometry").split() == ["1280", "800"]
    exts = harness.run(["xdpyinfo", "-display", harness.display]).stdout
    assert "RECORD" in exts and "XTEST" in exts
    img = harness.screenshot()
    assert img.size == (1280, 800)


def test_tray_panel_is_visible_at_top_right(harness):
    x0, y0, x1, y1 = harness.tray_bbox()
    assert (x1, y0, y1) == (1280, 0, 32)
    crop = np.asarray(harness.tray_screenshot())
    root = np.asarray(harness.screenshot().crop((0, 300, 100, 400)))
    # The panel is painted (light grey), unlike the black root window.
    assert crop.mean() > 150 and root.mean() < 10


TRAY_APP = textwrap.dedent(
    """
    import sys, threading
    from PIL import Image, ImageDraw
    import pystray
    img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((4, 4, 60, 60), fill=(230, 0, 0, 255))
    icon = pystray.Icon("harness-test", img, "harness test")
    def wait_stdin():
        sys.stdin.read()
        icon.stop()
    threading.Thread(target=wait_stdin, daemon=True).start()
    print(type(icon).__module__, flush=True)
    icon.run()
    """
)


def test_tray_icon_docks_and_shows_in_screenshot(harness, tmp_path):
    script = tmp_path / "tray_app.py"
    script.write_text(TRAY_APP)
    before = {w.id for w in harness.tray_icons()}
    proc = subprocess.Popen([sys.executable, str(script)], env=harness.env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        backend = _readline(proc, 20).strip()
        last: dict = {}

        def docked_in_the_tray():
            # GTK may dock a 1x1 window first and replace it with the real icon (a new window id);
            # trayer grows leftwards as icons come and go, and under load it may show a new icon at
            # the screen's edge for a while before the panel has grown: docked means the one new icon
            # is icon-sized and starts inside the panel
            try:
                tray = harness.tray_bbox()
                new = [w for w in harness.tray_icons() if w.id not in before]
            except HarnessError:  # a window vanished mid-query
                return None
            if len(new) == 1 and new[0].width >= 16 and tray[0] <= new[0].x < tray[2]:
                return new[0]
            last["seen"] = (tray, new)
            return None

        try:
            wait_until(docked_in_the_tray, 20, "the new icon docked inside the tray panel")
        except TimeoutError as e:
            raise AssertionError(f"{e}; last seen (panel, new icons): {last.get('seen')}") from None

        def red_pixels():
            px = np.asarray(harness.tray_screenshot()).astype(int)
            red = (px[..., 0] > 180) & (px[..., 1] < 60) & (px[..., 2] < 60)
            return int(red.sum()) if red.sum() > 200 else 0

        assert wait_until(red_pixels, 5, f"the red icon ({backend}) in the tray screenshot")
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    wait_until(lambda: {w.id for w in harness.tray_icons()} <= before, 5,
               "the icon to leave the tray")


def test_notify_send_reaches_dunst(harness):
    mark = len(harness.notifications())
    summary = f"harness-{uuid.uuid4().hex[:8]}"
    harness.run(["notify-send", "--app-name=trayrip-test", summary, "body text é"])
    note = harness.wait_notification(summary=summary, since=mark, timeout=5)
    assert note["body"] == "body text é"
    assert note["appname"] == "trayrip-test"
    assert all(n["summary"] != summary for n in harness.notifications()[:mark])


# ------------------------------------------------------------------ fixtures

def test_user_env_has_private_home(user_env, harness, tmp_path):
    assert user_env["HOME"] == str(tmp_path / "home")
    assert "XDG_MUSIC_DIR" not in user_env and "XDG_CONFIG_HOME" not in user_env
    assert user_env["DISPLAY"] == harness.display
    music = harness.run(["xdg-user-dir", "MUSIC"], env=user_env).stdout.strip()
    assert music.startswith(str(tmp_path / "home"))


def test_tmp_home_needs_no_harness(tmp_home, tmp_path):
    assert os.environ["HOME"] == str(tmp_path / "home") and tmp_home.is_dir()
    assert "XDG_CONFIG_HOME" not in os.environ and "XDG_MUSIC_DIR" not in os.environ


def test_harness_environ_applies_to_this_process(harness_environ, harness):
    assert os.environ["PULSE_SERVER"] == harness.env["PULSE_SERVER"]
    assert os.environ["DISPLAY"] == harness.display
    assert os.environ["HOME"] == harness_environ["HOME"] != harness.env.get("HOME")


# ------------------------------------------------------------------ reliability helpers

@pytest.mark.both_servers
def test_kill_and_restart_pulse_keeps_the_same_devices(harness, tmp_path):
    old_pid = harness.pulse_pid
    harness.kill_pulse()  # SIGKILL, like a crash
    assert harness.pulse_pid is None
    assert not harness.pulse_ready()
    # No autospawned replacement server appears behind the harness's back.
    time.sleep(0.3)
    assert not harness.pulse_ready()

    harness.start_pulse()
    assert harness.pulse_pid not in (None, old_pid)
    assert harness.pactl("get-default-sink").strip() == harness.sink
    assert harness.pactl("get-default-source").strip() == harness.decoy_source
    tone = at.write_bursts(tmp_path / "tone.wav", [1000], burst=0.5, lead=0.1, tail=0.1)
    rec = harness.record()
    try:
        harness.play(tone.path)
    finally:
        data = rec.stop()
    loud = at.find_bursts(data)
    assert len(loud) == 1
    assert at.dominant_frequency(data, start=loud[0][0] + 0.05, end=loud[0][1] - 0.05) == \
        pytest.approx(1000, abs=3)


@pytest.mark.both_servers
def test_restart_pulse_from_a_thread_outlives_the_thread(harness):
    """Tests may kill/restart the server from a timer thread mid-recording."""
    old_pid = harness.pulse_pid
    t = threading.Thread(target=harness.restart_pulse, args=(signal.SIGTERM,))
    t.start()
    t.join(15)
    new_pid = harness.pulse_pid
    assert new_pid not in (None, old_pid)
    time.sleep(0.3)  # the thread is gone; the server must not be
    assert harness.pulse_pid == new_pid
    assert harness.sink in harness.pactl("list", "short", "sinks")


@pytest.mark.both_servers
def test_a_flavour_runs_its_own_server_only(harness):
    info = harness.pactl("info")
    parts = set(harness.pids())
    if harness.server == "pipewire":
        assert "on PipeWire" in info
        assert {"pipewire", "wireplumber", "pipewire-pulse", "decoy-tone"} <= parts
        assert "pulseaudio" not in parts
    else:
        assert "PipeWire" not in info
        assert "pulseaudio" in parts and not {"pipewire", "wireplumber", "pipewire-pulse"} & parts


@pytest.mark.system
def test_pipewire_that_cannot_start_fails_with_its_log():
    class BrokenPipeWire(Harness):
        def _write_pipewire_files(self):
            super()._write_pipewire_files()
            conf = self.dir / "pw-home" / ".config" / "pipewire" / "pipewire.conf"
            conf.parent.mkdir(parents=True)
            conf.write_text("context.modules = [ { name = libpipewire-module-no-such-trayrip } ]\n")

    h = BrokenPipeWire(server="pipewire")
    try:
        with pytest.raises(HarnessError) as err:
            h.start()
    finally:
        h.stop()
    assert "pipewire" in str(err.value) and "no-such-trayrip" in str(err.value)
    assert h.pids() == {}


@pytest.mark.system
def test_a_part_that_cannot_start_fails_with_its_log():
    class BrokenPulse(Harness):
        def _write_pulse_files(self):
            super()._write_pulse_files()
            script = self.dir / "pulse.pa"
            script.write_text(script.read_text().replace(
                "module-null-sink", "module-null-sink no_such_argument=1"))

    h = BrokenPulse()
    t0 = time.monotonic()
    try:
        with pytest.raises(HarnessError) as err:
            h.start()
    finally:
        h.stop()
    message = str(err.value)
    assert "pulseaudio" in message
    assert "trayrip_test_sink" in message
    assert "no_such_argument" in message  # from the tail of PulseAudio's log
    assert time.monotonic() - t0 < 5
    assert h.pids() == {}
    assert not h.dir.exists()
