"""CLI messages for bad input: one line, non-zero exit, no traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from trayrip.cli import main


def run_cli(*args, env_extra=None, tmp_path=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "trayrip", *args], capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize(
    "args,needle",
    [
        (["record", "--duration", "-3"], "positive number"),
        (["record", "--duration", "abc"], "not a number"),
        (["record", "--rate", "12"], "between 1000 and 768000"),
        (["record", "--bits", "8"], "invalid choice"),
        (["record", "--threshold", "20"], "between -120 and 0"),
        (["record", "--folder", "a", "--output", "b.wav"], "not allowed with"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments(args, needle, capsys):
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_no_sound_server_is_one_clear_line(tmp_path):
    done = run_cli(
        "record", "-d", "1", "--folder", str(tmp_path),
        env_extra={"PULSE_SERVER": f"unix:{tmp_path}/nothing-here", "HOME": str(tmp_path)},
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "sound server" in done.stderr
    assert done.stdout == ""
    assert list(tmp_path.glob("**/*.wav*")) == []


def test_unwritable_folder_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run_cli("record", "-d", "1", "--folder", str(blocker / "sub"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "cannot create the folder" in done.stderr


def test_existing_output_is_refused_before_recording(tmp_path):
    out = tmp_path / "x.wav"
    out.write_bytes(b"keep")
    done = run_cli("record", "-d", "1", "--output", str(out))
    assert done.returncode == 1 and "already exists" in done.stderr
    assert out.read_bytes() == b"keep"


def test_help_lists_the_commands():
    done = run_cli("--help")
    assert done.returncode == 0
    for word in ("record", "devices", "tray"):
        assert word in done.stdout


def test_global_options_without_a_command_mean_the_tray(monkeypatch, tmp_home):
    seen = {}
    monkeypatch.setattr("trayrip.cli._cmd_tray", lambda args: seen.update(verbose=args.verbose) or 0)
    assert main(["-v"]) == 0 and seen["verbose"] == 1


def test_record_says_nothing_cheerful_before_an_error(tmp_path):
    """Issue 20, defect 7: the first line tells the truth; an error comes alone."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    done = run_cli("record", "-d", "5", "--folder", str(blocker / "sub"))
    assert done.returncode == 1 and "cannot create the folder" in done.stderr
    assert "Recording" not in done.stderr and "..." not in done.stderr, done.stderr
    done = run_cli("record", "-d", "1", "--folder", str(tmp_path),
                   env_extra={"PULSE_SERVER": f"unix:{tmp_path}/nothing-here", "HOME": str(tmp_path)})
    assert done.returncode == 1 and "Recording" not in done.stderr, done.stderr


def test_record_first_line_names_the_source():
    from argparse import Namespace

    from trayrip.cli import _recording_line

    args = Namespace(duration=5.0, stop_on_silence=0.0, app="mpv", wait_for_sound=False)
    assert _recording_line("application mpv (pid 42)", args) == "Recording application mpv (pid 42) for 5 s..."
    args = Namespace(duration=None, stop_on_silence=2.0, app=None, wait_for_sound=True)
    assert _recording_line("Monitor of Speakers", args) == (
        "Waiting for sound from what the computer plays (Monitor of Speakers), then recording until Ctrl+C "
        "or 2 s of silence...")
