"""The tray app in the Windows Python under Wine: control commands, single instance, icon, hotkey, menu, Quit."""
from __future__ import annotations

import subprocess

import pytest
from winharness import wait_until
from wintools import peak_frequency, read, write_tone


def status(wine) -> str:
    """What ``trayrip stop`` gets back (it changes nothing when the app is idle)."""
    out = wine.trayrip("stop", timeout=30)
    return out.stderr.strip() if out.returncode == 0 else f"(exit {out.returncode}) {out.stderr.strip()}"


def recording(music) -> bool:
    p = music / "playlists"
    return p.is_dir() and any(f.stat().st_size > 48000 for f in p.glob(".*.part"))


@pytest.fixture
def tray(wine, music):
    proc = wine.spawn_trayrip("tray")
    try:
        try:
            wait_until(lambda: proc.poll() is not None or status(wine).endswith("not recording"), 60, "the tray app to answer")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last status: {status(wine)}; tray stderr:\n{proc.stderr_text()[-3000:]}")
        assert proc.poll() is None, proc.stderr_text()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def filed(music):
    p = music / "playlists"
    return [f for f in p.iterdir() if not f.name.startswith(".")] if p.is_dir() else []


def test_start_stop_toggle_and_a_second_instance(wine, music, tray, tmp_path):
    tone = write_tone(tmp_path / "t.wav", 1200, 1.0)
    out = wine.trayrip("start")
    assert out.returncode == 0 and "start" in out.stderr, out.stderr
    wait_until(lambda: recording(music), 30, "recording")
    assert "already recording" in wine.trayrip("start").stderr
    wine.play(tone)
    out = wine.trayrip("stop")
    assert out.returncode == 0 and "stop" in out.stderr, out.stderr
    first = wait_until(lambda: filed(music), 60, "the recording to be filed")
    data, rate = read(first[0])
    assert abs(peak_frequency(data, rate) - 1200) < 3
    assert status(wine).endswith("not recording")

    # A second tray app does not start a second icon, nor a recording (a launch from the Start menu
    # while trayrip runs is no way to start one): it tells the first and exits 0. `toggle` records.
    second = wine.trayrip("tray", timeout=60)
    assert second.returncode == 0 and "already running" in second.stderr, second.stderr
    assert "nothing was started" in second.stderr, second.stderr
    assert status(wine).endswith("not recording")
    assert wine.trayrip("toggle").returncode == 0
    wait_until(lambda: recording(music), 30, "recording after `trayrip toggle`")
    wine.play(tone)
    assert wine.trayrip("toggle").returncode == 0
    wait_until(lambda: len(filed(music)) == 2, 60, "the second recording to be filed")
    assert tray.poll() is None
