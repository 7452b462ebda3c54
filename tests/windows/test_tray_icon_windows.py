"""The tray icon under Wine's systray (Xvfb): pixels by state, the hotkey with a focused Wine window, the menu, Quit."""
from __future__ import annotations

import subprocess

import pytest
from PIL import ImageGrab
from test_tray_windows import filed, recording, status
from winharness import wait_until, x_windows
from wintools import peak_frequency, read, write_tone


def systray(wine):
    """The explorer window that holds the notification icons (x, y, height), once it shows one."""
    bars = [w for w in x_windows(wine.env) if w[1] == "explorer.exe" and 16 <= w[3] <= 40 and w[2] >= w[3]]
    return (bars[0][4], bars[0][5], bars[0][3]) if bars else None


def icon_pixels(wine):
    x, y, h = wait_until(lambda: systray(wine), 30, "Wine's systray window")
    img = ImageGrab.grab(bbox=(x, y, x + h, y + h), xdisplay=wine.display).convert("RGB")
    return list(img.getdata())


def red_share(pixels) -> float:
    return sum(1 for r, g, b in pixels if r > 150 and g < 100 and b < 100) / len(pixels)


def ink_share(pixels) -> float:
    """Pixels that differ from the tray's own background (the most common colour)."""
    background = max(set(pixels), key=pixels.count)
    return sum(1 for p in pixels if sum(abs(a - b) for a, b in zip(p, background)) > 60) / len(pixels)


def popup_menus(wine):
    return [w for w in x_windows(wine.env) if w[1] == "python.exe" and w[2] > 60 and w[3] > 60]


@pytest.fixture
def quiet_tray(wine, music):
    """The tray app with notifications off (their balloons would cover the icon)."""
    config = wine.user_dir() / "AppData" / "Local" / "trayrip" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("notifications = false\n")
    proc = wine.spawn_trayrip("tray")
    try:
        wait_until(lambda: proc.poll() is not None or status(wine).endswith("not recording"), 60, "the tray app")
        assert proc.poll() is None, proc.stderr_text()
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        config.unlink(missing_ok=True)


@pytest.fixture
def focused_wine_window(wine):
    """A Wine window with the X focus: Wine hands keys to Windows hooks only then."""
    notepad = wine.spawn_wine(["notepad"])
    try:
        def find():
            out = subprocess.run(["xdotool", "search", "--onlyvisible", "--class", "notepad"], env=wine.env,
                                 capture_output=True, text=True, timeout=10).stdout.split()
            return out[0] if out else None

        win = wait_until(find, 30, "notepad's window")
        # Out of the way of the systray window (top left), whose pixels the tests read.
        subprocess.run(["xdotool", "windowsize", win, "300", "200", "windowmove", win, "500", "400"], env=wine.env,
                       check=True, timeout=10)
        subprocess.run(["xdotool", "windowfocus", "--sync", win], env=wine.env, check=True, timeout=10)
        yield win
    finally:
        notepad.kill()
        notepad.wait(10)


def hotkey(wine):
    subprocess.run(["xdotool", "key", "--delay", "50", "ctrl+alt+shift+r"], env=wine.env, check=True, timeout=10)


def test_icon_shows_the_state_and_the_hotkey_starts_and_stops(wine, music, quiet_tray, focused_wine_window, tmp_path):
    try:
        idle = wait_until(lambda: (lambda p: p if ink_share(p) > 0.1 else None)(icon_pixels(wine)), 30,
                          "an icon drawn in the systray")
    except AssertionError:
        ImageGrab.grab(xdisplay=wine.display).save("/src/.scratch-fail.png")
        print(x_windows(wine.env))
        raise
    assert red_share(idle) < 0.02
    hotkey(wine)
    wait_until(lambda: recording(music), 30, "the hotkey to start a recording")
    wait_until(lambda: red_share(icon_pixels(wine)) > 0.1, 30, "the icon to turn red")
    wine.play(write_tone(tmp_path / "t.wav", 900, 1.0))
    subprocess.run(["xdotool", "windowfocus", "--sync", focused_wine_window], env=wine.env, check=True, timeout=10)
    hotkey(wine)
    done = wait_until(lambda: filed(music), 60, "the hotkey to stop and file")
    data, rate = read(done[0])
    assert abs(peak_frequency(data, rate) - 900) < 3
    wait_until(lambda: red_share(icon_pixels(wine)) < 0.02, 30, "the icon to leave the red state")


def test_menu_opens_and_quit_files_the_recording_in_progress(wine, music, quiet_tray, tmp_path):
    assert wine.trayrip("start").returncode == 0
    wait_until(lambda: recording(music), 30, "recording")
    wine.play(write_tone(tmp_path / "t.wav", 1100, 1.0))
    x, y, h = systray(wine)
    subprocess.run(["xdotool", "mousemove", str(x + h // 2), str(y + h // 2), "click", "3"], env=wine.env,
                   check=True, timeout=10)
    menu = wait_until(lambda: popup_menus(wine), 30, "the menu to open")[0]
    _, _, width, height, mx, my = menu
    # Quit is the last item: the bottom row of the menu.
    subprocess.run(["xdotool", "mousemove", str(mx + 30), str(my + height - 10), "click", "1"], env=wine.env,
                   check=True, timeout=10)
    quiet_tray.wait(60)
    assert quiet_tray.returncode == 0, quiet_tray.stderr_text()
    done = filed(music)
    assert len(done) == 1, quiet_tray.stderr_text()
    data, rate = read(done[0])
    assert abs(peak_frequency(data, rate) - 1100) < 3
