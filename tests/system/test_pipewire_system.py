"""Capture on the real PipeWire harness: a recorder child (pw-record by default,
parec with TRAYRIP_CAPTURE=parec) records the default sink's monitor and never
outlives trayrip."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import audio_tools as at
from harness import wait_until
from test_capture_system import finish, start_record, wait_for_capture_file

pytestmark = pytest.mark.server("pipewire")


def children(pid: int) -> dict[int, list[str]]:
    """Child processes of `pid` with their argument lists."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out[int(entry.name)] = [a.decode() for a in argv if a]
    return out


TOOLS = ("pw-record", "parec")


def recorder_child(pid: int, tool: str) -> int:
    # Not the short-lived `pw-record --help` that asks whether it takes --raw.
    def find():
        return next((c for c, argv in children(pid).items()
                     if argv and argv[0].endswith("/" + tool) and "--help" not in argv), None)
    return wait_until(find, 10, f"the {tool} child")  # type: ignore[return-value]


def env_for(user_env, tool: str) -> dict:
    return user_env if tool == "pw-record" else dict(user_env, TRAYRIP_CAPTURE=tool)  # pw-record: the default


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("tool", TOOLS)
def test_record_uses_a_child_on_the_default_sink(harness, user_env, tmp_path, tool):
    folder = tmp_path / "out"
    played = at.write_bursts(tmp_path / "b.wav", [1500], burst=0.4, lead=0.2, tail=0.2)
    proc = start_record(env_for(user_env, tool), "--folder", str(folder))
    child = recorder_child(proc.pid, tool)
    argv = children(proc.pid)[child]
    if tool == "pw-record":
        assert argv[argv.index("--target") + 1] == harness.sink
        assert "stream.capture.sink=true" in argv[argv.index("-P") + 1]
    else:
        assert f"--device={harness.monitor}" in argv
    wait_for_capture_file(folder)
    # our node is in the graph, linked to the sink's monitor ports
    links = harness.run(["pw-link", "-l"]).stdout
    assert f"{harness.sink}:monitor_FL" in links and "trayrip-capture:input_FL" in links, links
    harness.play(played.path)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    path = finish(proc)
    data, rate = at.read_audio(path)
    assert abs(at.dominant_frequency(data, rate, 0.15, 0.45) - 1500) < 5
    assert at.band_level_db(data, 440, rate) < -30  # not the decoy
    assert not alive(child)


@pytest.mark.parametrize("tool", TOOLS)
def test_kill_9_of_trayrip_leaves_no_child(harness, user_env, tmp_path, tool):
    folder = tmp_path / "out"
    proc = start_record(env_for(user_env, tool), "--folder", str(folder))
    child = recorder_child(proc.pid, tool)
    wait_for_capture_file(folder)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    # the child dies of SIGPIPE at its next write (one 20 ms quantum later)
    wait_until(lambda: not alive(child), 5, f"{tool} to exit after trayrip was killed")
    assert "trayrip-capture" not in harness.run(["pw-link", "-l"]).stdout
