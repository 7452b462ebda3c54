"""`trayrip record` against a real PulseAudio null sink (the harness).

Audio of known structure is played into the default sink while trayrip
records; the filed file must contain exactly that audio -- the right
frequencies, not the 440 Hz decoy source, silences trimmed to the pads, no
frames lost -- in the requested format.
"""
from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
from recorder_tools import finish, start_record, wait_for_audio, wait_for_capture_file  # noqa: F401

pytestmark = pytest.mark.both_servers  # PulseAudio and PipeWire

PAD_BEFORE, PAD_AFTER = 0.100, 0.300
TOL = 0.050  # issue 2: trimmed to the pads within ~50 ms
CYCLE = 1024 / 48000  # PipeWire's graph cycle in the harness (its default quantum at 48 kHz)


def lost_cycle(server: str) -> float | None:
    """The whole graph cycle ``server`` may lose for a client a loaded machine does not run in time (s), or None.

    PipeWire does, pw-record on its own too (README, "PipeWire": 32-72 times in 3 minutes at load 3-5); the
    checks below let one such loss through, and nothing else."""
    return CYCLE if server == "pipewire" else None


def check_bursts(path: Path, played: at.Bursts, rate: int, server: str = "pulseaudio"):
    data, got_rate = at.read_audio(path)
    assert got_rate == rate
    found = at.burst_frequencies(data, got_rate, threshold_db=-30)
    assert [round(f, -1) for _, _, f in found] == [round(f, -1) for f in played.freqs], found
    assert at.band_level_db(data, 440, got_rate) < -30, "the decoy 440 Hz default source was recorded"
    starts = [a for a, _, _ in found]
    # leading silence trimmed to the pad
    assert abs(starts[0] - PAD_BEFORE) <= TOL, starts
    # no frames dropped: bursts are exactly as far apart as played (but for one lost_cycle)
    short = [want - got for got, want in zip(np.diff(starts), np.diff(played.onsets))]
    cycle = lost_cycle(server)
    cycles = [i for i, s in enumerate(short) if cycle is not None and abs(s - cycle) <= 0.002]
    assert len(cycles) <= 1, (starts, played.onsets)
    assert all(abs(s) <= 0.005 for i, s in enumerate(short) if i not in cycles), (starts, played.onsets)
    # trailing silence trimmed to the pad, and the total length follows
    last_end = starts[-1] + played.burst
    assert abs(len(data) / got_rate - (last_end + PAD_AFTER)) <= TOL
    return data


def test_record_files_the_played_bursts_trimmed(harness, user_env, tmp_path):
    folder = tmp_path / "out"
    played = at.write_bursts(tmp_path / "bursts.wav", [1000, 1500, 2500], burst=0.4, gap=0.6, lead=0.3, tail=0.5)
    proc = start_record(user_env, "--duration", "6", "--folder", str(folder))
    wait_for_capture_file(folder)
    harness.let_sink_run(0.3)
    harness.play(played.path)
    path = finish(proc)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.subtype) == (48000, 2, "PCM_16")
    check_bursts(path, played, 48000, harness.server)
    assert [p.name for p in folder.iterdir()] == [path.name]  # nothing else left behind


def test_default_folder_is_music_playlists_and_sigint_files(harness, user_env, tmp_path):
    speech = at.espeak_wav("Recording what the computer plays, with no microphone.", tmp_path / "speech.wav")
    proc = start_record(user_env)
    folder = Path(user_env["HOME"]) / "Music" / "playlists"
    wait_for_capture_file(folder)
    harness.let_sink_run(0.5)
    harness.play(speech)
    harness.let_sink_run(1.0)  # the 0.3 s pad after the speech, with room
    proc.send_signal(signal.SIGINT)  # what Ctrl+C does
    path = finish(proc)
    assert path.parent == folder
    data, rate = at.read_audio(path)
    ref, _ = at.read_audio(speech)
    cycle = lost_cycle(harness.server)
    peak, lag_start, lag_end = at.alignment(ref, data, rate, None if cycle is None else round(cycle * rate))
    assert peak > 0.9
    speech_bursts = at.find_bursts(ref, rate, threshold_db=-50, min_gap=0.5)
    # the recording starts PAD_BEFORE before the first sound of the speech
    assert abs((lag_start + speech_bursts[0][0]) - PAD_BEFORE) <= TOL
    assert abs(len(data) / rate - (lag_end + speech_bursts[-1][1] + PAD_AFTER)) <= TOL


def test_master_format_and_sigterm(harness, user_env, tmp_path):
    out = tmp_path / "master.wav"
    played = at.write_bursts(tmp_path / "b.wav", [3000, 700], burst=0.5, gap=0.5, lead=0.2, tail=0.2)
    proc = start_record(user_env, "--master", "--output", str(out))
    wait_for_capture_file(tmp_path)
    harness.let_sink_run(0.5)
    harness.play(played.path)
    harness.let_sink_run(0.8)
    proc.send_signal(signal.SIGTERM)
    assert finish(proc) == out
    info = sf.info(out)
    assert (info.samplerate, info.subtype) == (96000, "PCM_24")
    check_bursts(out, played, 96000, harness.server)


def test_devices_marks_the_loopback(harness, user_env):
    done = subprocess.run(
        [sys.executable, "-m", "trayrip", "devices"], env=user_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    marked = [line for line in done.stdout.splitlines() if line.startswith("*")]
    assert len(marked) == 1 and "trayrip_test_sink.monitor" in marked[0], done.stdout
    assert "ALSA lib" not in done.stderr  # PortAudio's probing noise is hidden
    if harness.server == "pipewire":
        assert "records Monitor of trayrip_test_sink" in done.stderr and "pw-record child" in done.stderr


def test_python_api_records_the_monitor(harness, harness_environ, tmp_path):
    import trayrip

    played = at.write_bursts(tmp_path / "api.wav", [1200], burst=0.5, lead=0.2, tail=0.2)
    rec = trayrip.Recording(folder=tmp_path / "api")
    rec.start()
    try:
        assert rec.format.rate == 48000 and "trayrip_test_sink.monitor" in rec.description
        wait_for_audio(rec)
        harness.let_sink_run(0.3)
        harness.play(played.path)
        harness.let_sink_run(0.5)  # paplay returns when its last sample is played: let the 0.3 s pad be recorded
    finally:
        filed = rec.stop()
    data, rate = at.read_audio(filed.path)
    assert abs(at.dominant_frequency(data, rate, 0.15, 0.55) - 1200) < 5
    assert abs(filed.duration - (0.5 + PAD_BEFORE + PAD_AFTER)) <= TOL
