"""Never miss the start (issue 12) against the real PulseAudio null sink and the real tray app.

* pre-roll: a sound starts, 3 s later a second ``trayrip`` starts the
  recording in the running tray app; the filed file starts at the sound's
  onset (plus the usual 0.1 s pad), not at the press;
* armed (``record --wait-for-sound``): nothing is written or filed while it
  is silent, then a burst is recorded whole, its onset included;
* stop on silence: the recording ends by itself S s after the sound stops.

Waits are on conditions (log lines saying audio flows, parec's frame count
as the sink's clock, files appearing), never bare sleeps.
"""
from __future__ import annotations

import contextlib
import datetime
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import audio_tools as at
from harness import wait_until, write_user_config
from test_tray_system import HOTKEY, App, wait_recordings

RATE = 48000
PAD_BEFORE = 0.100
ONSET_TOL = 0.050  # issue 12: the file starts at the sound's onset within 50 ms
BLOCK = 0.040  # PortAudio's block


def write_signal(path: Path, parts: list[tuple[float, float]], amplitude: float = 0.5) -> np.ndarray:
    """(frequency, seconds) pieces; frequency 0 = silence. Returns the samples written."""
    pieces = [at.silence(s) if f == 0 else at.tone(f, s, amplitude=amplitude) for f, s in parts]
    data = np.concatenate(pieces)
    at.write_wav(path, data)
    return data


def first_onset(data: np.ndarray) -> float:
    found = at.onsets(data, RATE, threshold_db=-30.0)
    assert found, "no sound in the file"
    return found[0]


def assert_starts_with(filed: np.ndarray, reference: np.ndarray, what: str) -> float:
    """The filed audio holds the reference from its first sample on; returns where it begins (s)."""
    ref = at.to_mono(reference[: round(0.5 * RATE)])
    got = at.to_mono(filed[: round(2.0 * RATE)])
    lag = at.xcorr_lag(ref, got) / RATE
    seg = got[round(lag * RATE): round(lag * RATE) + ref.shape[0]]
    match = float(np.dot(seg, ref) / (np.linalg.norm(seg) * np.linalg.norm(ref) + 1e-12))
    assert match > 0.9, f"{what}: the first 0.5 s of the sound are not in the file (match {match:.2f})"
    return lag


def log_time(line: str) -> float:
    stamp = line.split(" ", 2)
    return datetime.datetime.strptime(f"{stamp[0]} {stamp[1]}", "%Y-%m-%d %H:%M:%S,%f").timestamp()


class Cli:
    """``trayrip -vv record ...`` with stderr in a file we can watch."""

    def __init__(self, env: dict, workdir: Path, *args: str):
        self.err_path = workdir / "record.stderr"
        self.err = open(self.err_path, "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trayrip", "-vv", "record", "--quiet", *args],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.err, text=True,
        )

    def stderr(self) -> str:
        self.err.flush()
        return self.err_path.read_text(errors="replace")

    def wait_line(self, pattern: str, timeout: float = 20.0) -> str:
        rx = re.compile(pattern)

        def found():
            for line in self.stderr().splitlines():
                if rx.search(line):
                    return line
            assert self.proc.poll() is None, f"trayrip record exited:\n{self.stderr()}"
            return None

        return wait_until(found, timeout, f"/{pattern}/ from trayrip record", 0.02)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)
        self.err.close()


@pytest.mark.both_servers
def test_armed_records_the_burst_whole_and_stops_on_silence(harness, user_env, tmp_path):
    from trayrip.recording.recorder import PROMPT_BLOCK_SECONDS

    # PortAudio delivers 40 ms blocks; PipeWire's pipe is read in blocks of at most this when timing matters
    block = PROMPT_BLOCK_SECONDS if harness.server == "pipewire" else BLOCK
    folder = tmp_path / "out"
    burst = tmp_path / "burst.wav"
    reference = write_signal(burst, [(660, 0.4), (990, 0.8)])
    stop_after = 1.5
    cli = Cli(user_env, tmp_path, "--wait-for-sound", "--stop-on-silence", str(stop_after), "-f", str(folder))
    try:
        cli.wait_line(r"audio flowing")
        # Armed and silent: 2 s of the sink's clock pass with nothing written and nothing filed.
        with harness.record() as clock:
            clock.wait_frames(1)
            start = clock.frames_received
            clock.wait_frames(start + 2 * RATE)
        assert not [p for p in folder.iterdir() if not p.name.startswith(".")]
        assert all(p.stat().st_size <= 80 for p in folder.glob(".trayrip-*.part"))  # header only
        assert cli.proc.poll() is None

        harness.play(burst)
        sound_ended = time.time()
        out, _ = cli.proc.communicate(timeout=30)
        exited = time.time()
        assert cli.proc.returncode == 0, cli.stderr()
        stopping = cli.wait_line(r"s of silence after .* stopping")
    finally:
        cli.close()
    path = Path(out.strip().splitlines()[-1])
    data, rate = at.read_audio(path)
    assert rate == RATE
    # the burst whole: it starts at the pad, its first 0.5 s (onset included) are all there
    begins = assert_starts_with(data, reference, "armed")
    print(f"\narmed: the burst's onset is at {begins:.3f} s of the filed file (pad {PAD_BEFORE} s)")
    assert abs(begins - PAD_BEFORE) <= ONSET_TOL, f"the burst begins at {begins:.3f} s"
    assert abs(first_onset(data) - PAD_BEFORE) <= ONSET_TOL
    assert abs(at.dominant_frequency(data, RATE, begins, begins + 0.35) - 660) < 5
    assert abs(at.dominant_frequency(data, RATE, begins + 0.5, begins + 1.1) - 990) < 5
    assert abs(len(data) / RATE - (1.2 + 0.1 + 0.3)) <= 2 * ONSET_TOL  # trimmed to the pads
    # stop on silence, in stream time: on the frame S after the last sound, however the blocks came
    # (the log prints it to 10 ms)
    m = re.search(r"([\d.]+) s of silence after ([\d.]+) s", stopping)
    silence = float(m.group(1))
    assert stop_after <= silence <= stop_after + 0.010, stopping
    # ... and on the wall clock. paplay returns once it has drained into the sink, which is not exactly when
    # the last sample reached the monitor: the reference itself is only good to a couple of blocks.
    noticed = log_time(stopping)
    print(f"\nstop on silence {stop_after} s: noticed {noticed - sound_ended:.3f} s after paplay ended "
          f"(stream time: {silence:.3f} s of silence), process exit after {exited - sound_ended:.3f} s")
    assert stop_after - 3 * block <= noticed - sound_ended <= stop_after + 0.25 + (block - BLOCK)


def toggle(how: str, harness, env: dict, expect: str) -> None:
    """Start/stop the running tray app: ``trayrip toggle``, or the global hotkey."""
    if how == "hotkey":
        harness.xdotool("key", HOTKEY)
        return
    run = subprocess.run([sys.executable, "-m", "trayrip", "toggle"], env=env, capture_output=True, text=True,
                         timeout=30)
    assert run.returncode == 0 and expect in run.stderr, run.stderr


@pytest.mark.parametrize("how", ["trayrip toggle", "hotkey"])
def test_preroll_tray_recording_started_3_s_late_begins_at_the_onset(how, harness, user_env, tmp_home, tmp_path):
    write_user_config(tmp_home, "preroll_seconds = 10\n")
    song = tmp_path / "song.wav"
    reference = write_signal(song, [(660, 0.3), (1320, 5.7)])
    app = App(harness, user_env, tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_log(r"pre-roll: keeping the last 10 s")
        app.wait_log(r"pre-roll: audio flowing")
        with harness.record() as clock:  # the sink's clock
            clock.wait_frames(1)
            player = harness.play(song, wait=False)
            start = clock.frames_received
            clock.wait_frames(start + 3 * RATE, timeout=15)  # 3 s into the sound
            toggle(how, harness, user_env, "start recording")
        app.wait_log(r"capture running at")
        assert player.wait(15) == 0
        toggle(how, harness, user_env, "stop recording")
        [path] = wait_recordings(app, 1)
        log = app.log()
        assert "Traceback" not in log
    finally:
        app.stop()
    data, rate = at.read_audio(path)
    assert rate == RATE
    begins = assert_starts_with(data, reference, "pre-roll")
    print(f"\npre-roll ({how}): the sound's onset is at {begins:.3f} s of the filed file (pad {PAD_BEFORE} s)")
    assert abs(begins - PAD_BEFORE) <= ONSET_TOL, f"the sound begins at {begins:.3f} s, not at the pad"
    assert abs(first_onset(data) - PAD_BEFORE) <= ONSET_TOL
    assert abs(at.dominant_frequency(data, RATE, begins, begins + 0.25) - 660) < 5
    assert len(data) / RATE >= 6.0  # the whole sound, though the press came 3 s into it
    assert at.band_level_db(data, 440, RATE) < -40  # not the decoy microphone
    prepended = re.search(r"prepending ([\d.]+) s of pre-roll", log)
    assert prepended and 3.0 <= float(prepended.group(1)) <= 10.0, "the pre-roll held the sound's first 3 s"


@contextlib.contextmanager
def tray_armed_from_the_menu(harness, user_env, tmp_home, tmp_path):
    """The tray app (stop on silence 1 s) armed from its menu; yields (app, the burst's file, its samples) and
    stops the app afterwards. The burst (660 Hz 0.4 s, 990 Hz 0.6 s) is the caller's to play."""
    from test_tray_system import is_idle

    write_user_config(tmp_home, "stop_on_silence = 1.0\n")
    burst = tmp_path / "burst.wav"
    reference = write_signal(burst, [(660, 0.4), (990, 0.6)])
    app = App(harness, user_env, tmp_home, tmp_path)
    try:
        app.wait_docked()
        app.wait_icon(is_idle, "the idle icon")
        app.open_menu()
        harness.xdotool("key", "Down", "Down", "Return")  # the second item: Arm
        app.wait_log(r"armed: waiting for sound")
        yield app, burst, reference
    finally:
        app.stop()


def test_tray_arm_from_the_menu_waits_records_the_burst_and_stops_on_silence(harness, user_env, tmp_home, tmp_path):
    from test_tray_system import is_idle, red_fraction

    with tray_armed_from_the_menu(harness, user_env, tmp_home, tmp_path) as (app, burst, reference):
        app.wait_icon(lambda img: not is_idle(img) and red_fraction(img) > 0.05, "the armed icon")
        app.wait_log(r"audio flowing")
        with harness.record() as clock:  # 2 s of the sink's clock: armed and silent, nothing filed
            clock.wait_frames(1)
            start = clock.frames_received
            clock.wait_frames(start + 2 * RATE)
        assert not list((tmp_home / "Music" / "playlists").glob("*.wav"))
        harness.play(burst)
        [path] = wait_recordings(app, 1)  # filed by itself: stop on silence
        app.wait_icon(is_idle, "idle again after filing")
        assert "Traceback" not in app.log()
    data, _ = at.read_audio(path)
    begins = assert_starts_with(data, reference, "tray armed")
    print(f"\ntray armed: the burst's onset is at {begins:.3f} s of the filed file (pad {PAD_BEFORE} s)")
    assert abs(begins - PAD_BEFORE) <= ONSET_TOL
    assert abs(len(data) / RATE - (1.0 + 0.1 + 0.3)) <= 2 * ONSET_TOL
