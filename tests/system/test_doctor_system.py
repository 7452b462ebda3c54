"""``trayrip doctor`` in the harness: all well, no sound server, a read-only output folder."""
from __future__ import annotations

import subprocess
import sys

from mount_tools import read_only_prefix


def doctor(env, prefix=()):
    done = subprocess.run([*prefix, sys.executable, "-m", "trayrip", "doctor"], env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    lines = {line.split(":", 1)[0][6:]: line for line in done.stdout.splitlines()}
    return done, lines


def test_doctor_passes_on_the_harness(harness, user_env):
    done, lines = doctor(user_env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(lines) == ["sound server", "loopback source", "test capture", "tray", "hotkey", "ffmpeg",
                           "output folder", "config", "log file"], done.stdout
    assert all(line.startswith("ok ") for line in lines.values()), done.stdout
    assert "PulseAudio" in lines["sound server"]
    assert "trayrip_test_sink.monitor" in lines["loopback source"]  # not the decoy microphone
    assert "1.0 s captured" in lines["test capture"]
    assert "with a menu" in lines["tray"] and "X11" in lines["hotkey"]
    assert "writable" in lines["output folder"] and "GB free" in lines["output folder"]
    assert done.stderr == "", done.stderr


def test_doctor_fails_without_a_sound_server(harness, user_env, tmp_path):
    done, lines = doctor(dict(user_env, PULSE_SERVER=f"unix:{tmp_path}/no-server"))
    assert done.returncode == 1
    assert lines["sound server"].startswith("FAIL  sound server: no PulseAudio/PipeWire sound server is reachable")
    assert "->" in lines["sound server"]  # with a fix
    assert lines["output folder"].startswith("ok ")  # the rest is still checked


def test_doctor_fails_on_a_read_only_output_folder(harness, user_env, tmp_home):
    folder = tmp_home / "Music" / "playlists"
    folder.mkdir(parents=True)
    # a private mount namespace: a read-only file system on the default folder
    done, lines = doctor(user_env, prefix=read_only_prefix(folder))
    assert done.returncode == 1, done.stdout + done.stderr
    assert lines["output folder"].startswith(f"FAIL  output folder: {folder}: the file system is read-only")
    assert "Output folder" in lines["output folder"]  # where to change it
    assert lines["test capture"].startswith("ok "), done.stdout  # recording itself works
