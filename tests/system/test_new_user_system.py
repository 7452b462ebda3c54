"""What a new user hit (issue 13, item 7), against the harness's real sound server."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness import wait_until


def trayrip(env, *args, timeout=60):
    return subprocess.run([sys.executable, "-m", "trayrip", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def test_devices_lists_the_servers_sources_and_marks_the_monitor(harness, user_env):
    done = trayrip(user_env, "devices")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sound server: PulseAudio")
    [marked] = [line for line in lines if line.startswith("* ")]
    assert marked.split()[1] == "trayrip_test_sink.monitor"  # the monitor of the default sink, not the decoy
    assert any(line.split()[:1] == [harness.decoy_source] for line in lines)
    assert any(" pulse " in line for line in lines)  # PortAudio's device that opens it


def test_devices_without_a_server_names_the_server(tmp_path, user_env):
    env = dict(user_env, PULSE_SERVER=f"unix:{tmp_path}/no-server")
    done = trayrip(env, "devices")
    assert done.returncode == 1
    assert "sound server" in done.stderr and "no input devices found" not in done.stderr


def test_server_dying_mid_recording_is_one_line_without_portaudio_noise(harness, user_env, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "trayrip", "record", "-q", "--folder", str(out)], env=user_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        # audio is flowing once the capture file holds more than its header
        wait_until(lambda: any(p.stat().st_size > 48000 for p in out.glob(".trayrip-*.part")), 20,
                   "the capture file to grow")
        harness.kill_pulse()
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        harness.start_pulse()
    assert proc.returncode == 1, stderr
    assert "Expression" not in stderr and "PaAlsa" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if "sound server lost" in line or "failed" in line]
    assert len(errors) == 1, stderr
    assert Path(stdout.strip()).is_file()  # what was captured before the server died is filed


def env_without_ffmpeg(env, tmp_path):
    """The user's environment with a PATH that has the sound server's tools but no ffmpeg."""
    import shutil

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for tool in ("pactl", "paplay", "parec"):
        found = shutil.which(tool, path=env.get("PATH"))
        if found:
            (bin_dir / tool).symlink_to(found)
    return dict(env, PATH=str(bin_dir))


def test_lossy_format_without_ffmpeg_warns_once_and_keeps_wav(harness, user_env, tmp_path):
    env = env_without_ffmpeg(user_env, tmp_path)
    done = trayrip(env, "record", "-q", "-d", "1", "--no-trim", "--format", "mp3", "--folder", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("needs ffmpeg") == 1, done.stderr
    assert Path(done.stdout.strip()).suffix == ".wav" and Path(done.stdout.strip()).is_file()
