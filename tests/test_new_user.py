"""What a new user hit (issue 13, item 7): one test per defect, no sound server needed."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import trayrip
from trayrip import errors
from trayrip.errors import TrayripError

from mount_tools import read_only_prefix

RATE = 48000


def run_cli(*args, env_extra=None, cwd=None, prefix=()):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [*prefix, sys.executable, "-m", "trayrip", *map(str, args)], capture_output=True, text=True, env=env,
        timeout=120, stdin=subprocess.DEVNULL, cwd=cwd,
    )


def tone_file(path, seconds=2.0, amp=0.3, lead=0.5):
    t = np.arange(round(seconds * RATE)) / RATE
    x = amp * np.sin(2 * np.pi * 440 * t)
    x = np.concatenate([np.zeros(round(lead * RATE)), x, np.zeros(round(lead * RATE))])
    sf.write(path, np.stack([x, x], 1), RATE, subtype="PCM_16")
    return path


# -- the Python API ---------------------------------------------------------------
def test_recording_failed_is_exported_and_dir_lists_the_api():
    from trayrip.api import RecordingFailed

    assert trayrip.RecordingFailed is RecordingFailed
    assert issubclass(trayrip.RecordingFailed, trayrip.TrayripError)
    for name in ("record", "Recording", "RecordingFailed", "TrayripError"):
        assert name in dir(trayrip)


@pytest.mark.parametrize(
    "call",
    [
        lambda: trayrip.record(duration=-1),
        lambda: trayrip.record(duration=0),
        lambda: trayrip.Recording(bits=12),
        lambda: trayrip.Recording(rate=5),
    ],
)
def test_bad_api_arguments_raise_trayrip_errors(call):
    with pytest.raises(TrayripError) as info:
        call()
    assert isinstance(info.value, errors.BadArgument) and isinstance(info.value, ValueError)


# -- exit status 2 for bad arguments ------------------------------------------------
def test_record_to_a_non_audio_name_is_a_bad_argument(tmp_path):
    done = run_cli("record", "-d", "1", "-o", tmp_path / "out.txt")
    assert done.returncode == 2, done.stderr
    assert "unknown audio type" in done.stderr and not (tmp_path / "out.txt").exists()


def test_trim_to_an_unknown_type_is_a_bad_argument(tmp_path):
    src = tone_file(tmp_path / "a.wav")
    done = run_cli("trim", "-o", tmp_path / "out.xyz", src)
    assert done.returncode == 2, done.stderr
    assert "unknown output type" in done.stderr


def test_trim_two_inputs_into_one_file_is_a_bad_argument(tmp_path):
    a, b = tone_file(tmp_path / "a.wav"), tone_file(tmp_path / "b.wav")
    done = run_cli("trim", "-o", tmp_path / "out.wav", a, b)
    assert done.returncode == 2, done.stderr
    assert "not a folder" in done.stderr and not (tmp_path / "out.wav").exists()


# -- messages -----------------------------------------------------------------------
def test_an_unreadable_input_is_named_once(tmp_path):
    (tmp_path / "notes.txt").write_text("shopping list\n")
    done = run_cli("trim", "notes.txt", cwd=tmp_path)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.count("notes.txt") == 1, line
    assert "not an audio file" in line


def test_recover_reports_each_recording_once_with_a_clock_length(tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "filing"))
    from test_recovery import crashed_capture  # a capture file as kill -9 leaves it

    folder = tmp_path / "music"
    folder.mkdir()
    crashed_capture(folder)
    done = run_cli("recover", "-f", folder, env_extra={"HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    news = [line for line in done.stderr.splitlines() if "recovered" in line]
    assert len(news) == 1, done.stderr
    assert "(0:02)" in news[0]  # 2 s of tone + the kept padding, written as everywhere else


def test_durations_are_written_one_way():
    from trayrip.desktop.controller import _duration_text
    from trayrip.filing.naming import clock_duration

    assert [clock_duration(s) for s in (1.5, 5, 65, 3725)] == ["0:02", "0:05", "1:05", "1:02:05"]
    assert _duration_text(65) == clock_duration(65)


def test_a_read_only_file_system_is_called_that(tmp_path):
    target = tmp_path / "ro"
    target.mkdir()
    # A private mount namespace: a read-only tmpfs over the folder, as a user without root sees a read-only disk.
    done = subprocess.run(
        [*read_only_prefix(target), sys.executable, "-m", "trayrip", "record", "-d", "1", "--folder", str(target)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done.stderr
    assert "read-only" in done.stderr and "permission denied" not in done.stderr, done.stderr


def test_portaudio_noise_on_fd2_is_logged_while_other_output_passes():
    script = """
import logging, os, sys
logging.basicConfig(level=logging.DEBUG, stream=open(sys.argv[1], "w"))
from trayrip.capture.portaudio import _FILTER
_FILTER.install()
os.write(2, b"\\rprogress 1 ")
os.write(2, b"Expression 'PaAlsaStream_WaitForFrames( stream, &framesAvail, &xrun )' failed in 'x.c', line: 4285\\n")
sys.stderr.write("trayrip: a real message\\n")
os.write(2, b"ALSA lib pcm.c:8526:(snd_pcm_recover) overrun occurred\\npartial")
_FILTER.remove()
sys.stderr.write(" after\\n")
"""
    import tempfile

    with tempfile.NamedTemporaryFile("r", suffix=".log") as logf:
        done = subprocess.run([sys.executable, "-c", script, logf.name], capture_output=True, timeout=60)
        logged = logf.read()
    assert done.returncode == 0, done.stderr
    assert done.stderr == b"\rprogress 1 trayrip: a real message\npartial after\n"
    assert "PaAlsaStream_WaitForFrames" in logged and "overrun occurred" in logged


def test_trim_to_mp3_without_ffmpeg_says_nothing_was_written(tmp_path):
    src = tone_file(tmp_path / "a.wav")
    (tmp_path / "bin").mkdir()
    done = run_cli("trim", "-o", tmp_path / "x.mp3", src, env_extra={"PATH": str(tmp_path / "bin")})
    assert done.returncode == 1, done.stderr
    assert "needs ffmpeg" in done.stderr and "Nothing was written" in done.stderr
    assert "kept as WAV" not in done.stderr  # it keeps nothing: the promise is not made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "bin"]


# -- silence ---------------------------------------------------------------------------
def _record_filed(samples, tmp_path, **kw):
    from trayrip.capture.fake import FakeSource

    rec = trayrip.Recording(source=FakeSource(samples, RATE, speed=None), folder=tmp_path / "out", **kw)
    rec.start(max_seconds=len(samples) / RATE)
    assert rec.wait_done(60)
    return rec.stop()


def test_a_digitally_silent_recording_is_filed_and_called_silent(tmp_path, caplog):
    filed = _record_filed(np.zeros((RATE * 2, 2), np.float32), tmp_path)
    assert filed.path.is_file() and filed.silent == "digital silence (every sample is zero)"
    assert "digital silence" in caplog.text


def test_a_quiet_recording_says_how_loud_it_was(tmp_path):
    t = np.arange(RATE * 2) / RATE
    quiet = np.repeat((0.001 * np.sin(2 * np.pi * 440 * t))[:, None], 2, 1)  # -63 dBFS RMS
    filed = _record_filed(quiet, tmp_path)
    assert filed.silent == "no sound above -50 dBFS (the loudest moment is -63 dBFS)"
    loud, _ = sf.read(tone_file(tmp_path / "t.wav"), dtype="float32")
    assert _record_filed(loud, tmp_path).silent is None


@pytest.mark.parametrize("command", ["trim", "split"])
def test_trim_and_split_agree_on_an_all_silent_file(tmp_path, command):
    src = tmp_path / "silent.wav"
    sf.write(src, np.zeros((RATE * 3, 2), np.int16), RATE, subtype="PCM_16")
    done = run_cli(command, src)
    assert done.returncode == 1, done.stderr
    assert "digital silence" in done.stderr and "nothing written" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["silent.wav"]
