"""Take the README's screenshots of the tray app in the test harness (run by hand).

    PYTHONPATH=$PWD .venv/bin/python docs/take_screenshots.py [OUT_DIR]

Starts the harness (Xvfb + trayer + dunst + PulseAudio null sink), runs the
real ``trayrip`` tray app, drives it with xdotool and takes each picture
with ImageMagick's ``import -window root``, cropped to the tray (icons
enlarged 4x, nearest neighbour, so the pixels stay visible).
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import audio_tools as at  # noqa: E402
from harness import Harness, wait_until  # noqa: E402
from trayrip.hotkey_syntax import DEFAULT_HOTKEY, xdotool_keys  # noqa: E402

SCALE = 4


def grab(h: Harness) -> Image.Image:
    png = h.run(["import", "-silent", "-window", "root", "png:-"], text=False).stdout
    return Image.open(io.BytesIO(png)).convert("RGB")


def red_fraction(img: Image.Image) -> float:
    a = np.asarray(img).astype(int)
    return float(((a[..., 0] > 170) & (a[..., 1] < 80) & (a[..., 2] < 80)).mean())


def yellow_fraction(img: Image.Image) -> float:
    a = np.asarray(img).astype(int)
    return float(((a[..., 0] > 200) & (a[..., 1] > 150) & (a[..., 2] < 90)).mean())


def blue_fraction(img: Image.Image) -> float:
    a = np.asarray(img).astype(int)
    return float(((a[..., 0] < 90) & (a[..., 2] > 170)).mean())


def icon_box(h: Harness) -> tuple[int, int, int, int]:
    [icon] = h.wait_tray_icons(1)
    return icon.bbox


def save_icon(h: Harness, out: Path, name: str, img: Image.Image | None = None) -> Image.Image:
    x0, y0, x1, y1 = icon_box(h)
    crop = (img or grab(h)).crop((x0 - 2, y0 - 2, x1 + 2, y1 + 2))
    big = crop.resize((crop.width * SCALE, crop.height * SCALE), Image.NEAREST)
    big.save(out / f"tray-{name}.png", optimize=True)
    print("wrote", out / f"tray-{name}.png")
    return crop


def menu_windows(h: Harness, icon_id: int) -> list[tuple[int, int, int, int]]:
    found = h.run(["xdotool", "search", "--onlyvisible", "--classname", "^trayrip$"], check=False, timeout=5)
    boxes = []
    for wid in found.stdout.split():
        if int(wid) == icon_id:
            continue
        g = dict(line.split("=", 1) for line in h.xdotool("getwindowgeometry", "--shell", wid).split())
        x, y, w, hh = int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])
        if hh >= 60:
            boxes.append((x, y, x + w, y + hh))
    return boxes


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    h = Harness().start()
    home = Path(tempfile.mkdtemp(prefix="trayrip-shots-"))
    env = {k: v for k, v in h.env.items() if not k.startswith("XDG_") or k == "XDG_RUNTIME_DIR"}
    env["HOME"] = str(home)
    # MP3 is encoded after stop (WAV is filed in O(1)): the "finishing" icon stays up long enough to be seen
    (home / ".config" / "trayrip").mkdir(parents=True)
    (home / ".config" / "trayrip" / "config.toml").write_text('format = "mp3"\n')
    app = subprocess.Popen([sys.executable, "-m", "trayrip"], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    key = xdotool_keys(DEFAULT_HOTKEY)
    try:
        [icon] = h.wait_tray_icons(1, timeout=20)
        time.sleep(1.5)  # the first image and the panel's layout settle
        save_icon(h, out, "idle")

        # the menu (idle), opened with a right click as a user would
        x, y = icon.x + icon.width // 2, icon.y + icon.height // 2
        h.xdotool("mousemove", str(x), str(y), "click", "3")
        boxes = wait_until(lambda: menu_windows(h, icon.id), 10, "the menu")
        time.sleep(0.5)
        mx0, my0, mx1, my1 = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
        ix0, iy0, ix1, iy1 = icon_box(h)
        shot = grab(h).crop((min(mx0, ix0) - 8, min(my0, iy0) - 8, max(mx1, ix1) + 8, max(my1, iy1) + 8))
        shot.save(out / "menu.png", optimize=True)
        print("wrote", out / "menu.png")
        h.xdotool("key", "Escape")
        wait_until(lambda: not menu_windows(h, icon.id), 10, "the menu to close")

        # recording, with the level meter moving to a tone played into the sink
        tone = home / "tone.wav"
        at.write_wav(tone, at.tone(660, 30.0, amplitude=0.5))
        player = h.play(tone, wait=False)
        h.xdotool("key", key)
        wait_until(lambda: red_fraction(grab(h).crop(icon_box(h))) > 0.12, 15, "the recording icon")
        time.sleep(2.0)  # the meter follows the tone
        save_icon(h, out, "recording")

        # finishing: shown while the recording is encoded and filed
        time.sleep(6.0)
        h.xdotool("key", key)
        box = icon_box(h)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            img = h.screenshot()  # Pillow's grab: fast enough to catch a short state
            if blue_fraction(img.crop(box)) > 0.05:
                save_icon(h, out, "finishing", img)
                break
        else:
            print("the finishing icon was not caught")
        player.terminate()

        # error: the sound server is gone when recording starts
        time.sleep(1.0)
        h.kill_pulse()
        h.xdotool("key", key)
        wait_until(lambda: yellow_fraction(grab(h).crop(icon_box(h))) > 0.05, 15, "the error icon")
        save_icon(h, out, "error")
        h.start_pulse()
    finally:
        app.terminate()
        try:
            app.wait(15)
        except subprocess.TimeoutExpired:
            app.kill()
        h.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
