"""``trayrip schedule`` as a user types it: add, list, remove; past, overlap and syntax errors exit 2."""
from __future__ import annotations

import os
import re
import subprocess
import sys


def test_schedule_cli_errors_exit_2(tmp_home):
    env = dict(os.environ, HOME=str(tmp_home), TRAYRIP_TIMERS="none", TZ="UTC")
    for var in ("XDG_CONFIG_HOME", "XDG_RUNTIME_DIR"):
        env.pop(var, None)

    def run(*args):
        return subprocess.run([sys.executable, "-m", "trayrip", "schedule", *args], env=env, capture_output=True,
                              text=True, timeout=30)

    ok = run("add", "Mon,Thu 20:00", "--for", "1h", "--app", "firefox", "--name", "Jazz hour")
    assert ok.returncode == 0, ok.stderr
    assert re.match(r"1  Jazz hour  Mon,Thu 20:00 for 1h  \[next (Mon|Thu) \d{4}-\d\d-\d\d 20:00\]", ok.stdout)
    for args, message in [
        (("add", "--at", "2020-01-01T10:00", "--for", "1h"), "in the past"),
        (("add", "Thu 20:30", "--until", "21:00"), "overlaps schedule 1 (Jazz hour)"),
        (("add", "Mon,Thx 20:00", "--for", "1h"), "'Thx' is not a day"),
        (("add", "daily 10:00", "--for", "1x"), "not a length"),
        (("remove", "7"), "there is no schedule 7"),
    ]:
        r = run(*args)
        assert r.returncode == 2 and message in r.stderr, (args, r.returncode, r.stderr)
    xmas = run("add", "--at", "2099-12-24T18:00", "--until", "19:30", "--name", "Christmas")
    assert xmas.returncode == 0 and xmas.stdout.startswith("2  Christmas  2099-12-24T18:00 until 19:30"), xmas.stderr
    listed = run("list")
    assert [line.split("  ")[1] for line in listed.stdout.splitlines()] == ["Jazz hour", "Christmas"]
    assert run("remove", "1").returncode == 0
    assert [line.split("  ")[1] for line in run("list").stdout.splitlines()] == ["Christmas"]
    text = (tmp_home / ".config" / "trayrip" / "schedules.toml").read_text()
    assert 'name = "Christmas"' in text and "Jazz hour" not in text
