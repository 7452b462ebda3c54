"""The combination matrix (issue 20, item 2): every pair of settings, in the real tray app, on both servers.

Pairwise rows (:mod:`pairwise`: every pair of values of any two parameters at
least once) over: the server, Record from (all audio / one application),
pre-roll, the start path (hotkey, menu, ``trayrip toggle``, Arm), stop on
silence, split at silences, split at track changes (no media player runs:
it must fall back and say so), and the format. One tray app per server runs
its rows one after the other; each row's settings are written to the config
file and applied with ``trayrip reload``.

Each row plays the same two applications: "ToneAlpha" (700 Hz, a 2.3 s gap,
1200 Hz) and the decoy "ToneDecoy" (1900 Hz, at the same time as the first
tone), after 2.5 s of silence. Asserted on the files: the format, the
source (the decoy absent with one application, present with all audio), the
onset (the pad before the first tone), the tracks (two with split), and a
filed recording with no stop command when stop on silence is on. Rows are
ordered so that, on each server, a pre-roll row on one source is followed by
a pre-roll row on the other: the settings change under a warm stream.
Then, on each server, a kill -9 of the tray while it records one
application with pre-roll into FLAC: the next start undoes the routing and
files the recording, as FLAC.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
from harness import wait_until, write_user_config
from pairwise import pairwise, uncovered_pairs
from test_apps_system import play_as, server_state, streams_of
from test_tray_system import HOTKEY, App

pytestmark = pytest.mark.both_servers

PARAMS = {
    "server": ["pulseaudio", "pipewire"],
    "source": ["all", "app"],
    "preroll": [False, True],
    "start": ["hotkey", "menu", "toggle", "arm"],
    "stop_on_silence": [False, True],
    "split": [False, True],
    "tracks": [False, True],
    "format": ["wav", "flac", "mp3"],
}
ROWS = pairwise(PARAMS)
LEAD, TONE, GAP, TAIL = 2.5, 0.8, 2.3, 0.5  # the gap is longer than the 2 s that separate tracks
ALPHA1, ALPHA2, DECOY = 700, 1200, 1900
STOP_AFTER = 2.6  # stop on silence: longer than the gap, so split and stop on silence go together
PAD = 0.1
AUDIO = (".wav", ".flac", ".mp3")


def with_switches(rows: list[dict]) -> list[dict]:
    """The rows in an order where a pre-roll row is followed by one with pre-roll on another source where
    there is one: Record from changing under a warm pre-roll stream (defect 1) is a transition, not a pair."""
    left, out = list(rows), []
    while left:
        row = left.pop(0)
        out.append(row)
        follow = [r for r in left if row["preroll"] and r["preroll"] and r["source"] != row["source"]]
        if follow:
            left.remove(follow[0])
            left.insert(0, follow[0])
    return out


def row_id(row: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in row.items() if k != "server")


def config_text(row: dict) -> str:
    return "\n".join([
        f"format = '{row['format']}'",
        f"app = '{'ToneAlpha' if row['source'] == 'app' else ''}'",
        f"preroll_seconds = {10 if row['preroll'] else 0}",
        f"stop_on_silence = {STOP_AFTER if row['stop_on_silence'] else 0}",
        f"split = {'true' if row['split'] else 'false'}",
        f"tracks = {'true' if row['tracks'] else 'false'}",
        "min_track = 0.3",
    ]) + "\n"


def trayrip(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "trayrip", *args], env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stderr


def audio_files(home: Path) -> set[Path]:
    folder = home / "Music" / "playlists"
    return {p for p in folder.rglob("*") if p.suffix in AUDIO and not p.name.startswith(".")} if folder.is_dir() \
        else set()


def decode(path: Path, tmp: Path) -> tuple[np.ndarray, int]:
    if path.suffix != ".mp3":
        return at.read_audio(path)
    wav = tmp / (path.stem + ".decoded.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), str(wav)], check=True, timeout=60)
    return at.read_audio(wav)


class Matrix:
    """One tray app running one row after another."""

    def __init__(self, harness, env, home, tmp):
        self.h, self.env, self.home, self.tmp = harness, env, home, tmp
        self.config = write_user_config(home, "")
        self.alpha = at.write_wav(tmp / "alpha.wav", np.concatenate([
            at.silence(LEAD), at.tone(ALPHA1, TONE), at.silence(GAP), at.tone(ALPHA2, TONE), at.silence(TAIL)]))
        self.decoy = at.write_wav(tmp / "decoy.wav", np.concatenate([
            at.silence(LEAD), at.tone(DECOY, TONE), at.silence(GAP + TONE + TAIL)]))
        self.app = App(harness, env, home, tmp)
        self.app.wait_docked()
        self.warm: str | None = None  # what the pre-roll listens to after the previous row

    def restart(self) -> None:
        self.app.stop()
        self.app = App(self.h, self.env, self.home, self.tmp)
        self.app.wait_docked()
        self.warm = None

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.app.log()))

    def press(self, how: str) -> None:
        if how == "hotkey":
            self.h.xdotool("key", HOTKEY)
        elif how == "menu":
            self.app.menu_choose("first")
        else:
            trayrip(self.env, "toggle")

    def run(self, row: dict) -> list[Path]:
        app = self.app
        before = audio_files(self.home)
        saved = self.count(r"notification: Recording saved")
        running = self.count(r"capture running at")
        armed = self.count(r"capture running at .*armed: waiting for sound")
        fallbacks = self.count(r"not splitting at track changes")
        prerolls = self.count(r"pre-roll: keeping the last 10 s of")
        app_prerolls = self.count(r"pre-roll: keeping the last 10 s of application")
        reloads = self.count(r"notification: trayrip: settings reloaded")
        self.config.write_text(config_text(row))
        trayrip(self.env, "reload")
        app.wait_log(r"notification: trayrip: settings reloaded", count=reloads + 1)
        if row["preroll"] and row["source"] == "all" and self.warm != "all":
            app.wait_log(r"pre-roll: keeping the last 10 s of", count=prerolls + 1)
        if row["start"] == "arm":
            trayrip(self.env, "arm")
            app.wait_log(r"capture running at .*armed: waiting for sound", count=armed + 1)
        players = []
        with self.h.record() as clock:  # the sink's clock
            clock.wait_frames(1)
            start = clock.frames_received
            players = [play_as(self.h, "ToneAlpha", self.alpha), play_as(self.h, "ToneDecoy", self.decoy)]
            try:
                if row["start"] != "arm":
                    if row["preroll"]:  # press 0.4 s into the first tone: pre-roll holds its onset
                        if row["source"] == "app" and self.warm != "app":  # it opens once the application plays
                            app.wait_log(r"pre-roll: keeping the last 10 s of application", count=app_prerolls + 1,
                                         timeout=LEAD)
                        clock.wait_frames(start + int((LEAD + 0.4) * at.RATE), timeout=15)
                    else:
                        wait_until(lambda: streams_of(self.h, "ToneAlpha") and streams_of(self.h, "ToneDecoy"),
                                   LEAD, "both players")
                    self.press(row["start"])
                    app.wait_log(r"capture running at", count=running + 1)
                for p in players:
                    assert p.wait(20) == 0
            finally:
                for p in players:
                    p.terminate()
        if not row["stop_on_silence"]:
            self.press("hotkey" if row["start"] == "arm" else row["start"])
        app.wait_log(r"notification: Recording saved", count=saved + 1, timeout=30)
        new = sorted(audio_files(self.home) - before)
        self.warm = row["source"] if row["preroll"] else None
        if row["tracks"]:
            assert self.count(r"not splitting at track changes") == fallbacks + 1, "no word of the fallback"
        return new


def kill_9_and_start_again(matrix: Matrix) -> Path:
    """One event across the modes: kill -9 of the tray while it records one application (pre-roll on, FLAC);
    the next start undoes the routing and files what was captured, in the user's format."""
    h, app = matrix.h, matrix.app
    row = {"format": "flac", "source": "app", "preroll": True, "stop_on_silence": False, "split": False,
           "tracks": False}
    long_alpha = at.write_wav(matrix.tmp / "alpha-long.wav", np.concatenate([at.tone(ALPHA1, 20.0)]))
    player = play_as(h, "ToneAlpha", long_alpha)
    try:
        wait_until(lambda: streams_of(h, "ToneAlpha"), 10, "the player")
        before = server_state(h)["modules"]
        reloads = matrix.count(r"notification: trayrip: settings reloaded")
        running = matrix.count(r"capture running at")
        matrix.config.write_text(config_text(row))
        trayrip(matrix.env, "reload")
        app.wait_log(r"notification: trayrip: settings reloaded", count=reloads + 1)
        trayrip(matrix.env, "toggle")
        app.wait_log(r"capture running at", count=running + 1)
        with h.record() as clock:  # 1.5 s of the sink's clock into the file
            clock.wait_frames(1)
            clock.wait_frames(clock.frames_received + int(1.5 * at.RATE), timeout=15)
        killed = app.proc.pid

        def routed_by_the_killed_one() -> list:
            return [m for m in server_state(h)["modules"] if f"trayrip_app_{killed}_" in str(m)]

        assert routed_by_the_killed_one() and server_state(h)["modules"] != before  # the route is in place
        app.proc.kill()
        app.proc.wait(10)
        matrix.restart()  # the new tray routes the application again for its own pre-roll: only its own modules
        wait_until(lambda: not routed_by_the_killed_one(), 30, "the killed tray's routing undone")
        return wait_until(lambda: next(iter(p for p in audio_files(matrix.home) if "(recovered)" in p.name), None),
                          30, "the recovered recording")
    finally:
        player.terminate()


def check(row: dict, files: list[Path], tmp: Path) -> None:
    assert files and all(p.suffix == f".{row['format']}" for p in files), files
    decoded = [decode(p, tmp) for p in files]
    if row["split"]:
        assert len(files) == 2, files
        (first, rate), (second, _) = decoded
        assert abs(at.dominant_frequency(first, rate) - ALPHA1) < 5 or row["source"] == "all"
        assert abs(at.dominant_frequency(second, rate) - ALPHA2) < 5
    else:
        assert len(files) == 1, files
        first, rate = decoded[0]
        assert at.band_level_db(first, ALPHA2, rate) > -25, "the second tone is missing"
    assert at.band_level_db(first, ALPHA1, rate) > -25, "the first tone is missing"
    decoy = at.band_level_db(first, DECOY, rate)
    if row["source"] == "app":
        assert decoy < at.band_level_db(first, ALPHA1, rate) - 30, "the decoy is in a one-application recording"
    else:
        assert decoy > -25, "all system audio, but the decoy is missing"
    onset = at.onsets(first, rate)[0]
    tolerance = 0.08 if row["format"] == "mp3" else 0.05  # mp3: the encoder's delay
    assert abs(onset - PAD) <= tolerance, f"the sound begins at {onset:.3f} s, not at the {PAD} s pad"


def test_pairwise_matrix_covers_every_pair():
    assert uncovered_pairs(PARAMS, ROWS) == set()


def test_combination_matrix(harness, user_env, tmp_home, tmp_path):
    rows = with_switches([r for r in ROWS if r["server"] == harness.server])
    matrix = Matrix(harness, user_env, tmp_home, tmp_path)
    failures, started = [], time.monotonic()
    try:
        for row in rows:
            t0 = time.monotonic()
            try:
                check(row, matrix.run(row), tmp_path)
            except (AssertionError, TimeoutError) as exc:
                failures.append(f"{row_id(row)}: {exc}")
                print(f"\nFAILED {row_id(row)}: {exc}\n--- the app's log, last lines:\n{matrix.app.log()[-4000:]}")
                matrix.restart()  # the next row starts from a fresh app
            print(f"\nmatrix row ({harness.server}) {row_id(row)}: {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        recovered = kill_9_and_start_again(matrix)
        print(f"\nmatrix kill -9 ({harness.server}): {time.monotonic() - t0:.1f} s")
        assert recovered.suffix == ".flac", recovered
        data, rate = at.read_audio(recovered)
        assert len(data) / rate >= 1.0 and abs(at.dominant_frequency(data, rate) - ALPHA1) < 5
        assert "Traceback" not in matrix.app.log()
    finally:
        matrix.app.stop()
    print(f"\nmatrix on {harness.server}: {len(rows)} rows in {time.monotonic() - started:.1f} s")
    assert not failures, "\n".join(failures)
