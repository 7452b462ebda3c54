"""State icons: distinct shapes (not only colours), legible small, meter overlay, shipped PNGs current."""
from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trayrip.desktop import icons
from trayrip.desktop.icons import METER_SEGMENTS, METER_STEPS_DB, SIZE, draw_base, meter_segments, state_image
from trayrip.desktop.state import State

ROOT = Path(__file__).resolve().parents[2]


def mask(img: Image.Image, size: int | None = None) -> np.ndarray:
    """Where the icon is opaque (its shape), optionally at a tray size."""
    if size:
        img = img.resize((size, size), Image.LANCZOS)
    return np.asarray(img.getchannel("A")) > 128


def grey(img: Image.Image, size: int) -> np.ndarray:
    """The icon as a colour-blind / monochrome panel shows it: luminance over mid-grey."""
    small = img.resize((size, size), Image.LANCZOS)
    bg = Image.new("RGBA", small.size, (128, 128, 128, 255))
    bg.alpha_composite(small)
    return np.asarray(bg.convert("L"), dtype=np.float32)


def test_every_state_has_an_rgba_icon_of_the_tray_size():
    for state in State:
        img = state_image(state)
        assert img.mode == "RGBA" and img.size == (SIZE, SIZE)
        coverage = mask(img).mean()
        assert 0.25 < coverage < 0.95, (state, coverage)  # substantial, with transparent corners


@pytest.mark.parametrize("size", [16, 22, 32])
def test_states_differ_in_shape_at_tray_sizes(size):
    for a, b in itertools.combinations(State, 2):
        differs = (mask(state_image(a), size) != mask(state_image(b), size)).mean()
        assert differs > 0.10, (a, b, size, differs)


@pytest.mark.parametrize("size", [16, 32])
def test_states_differ_without_colour(size):
    for a, b in itertools.combinations(State, 2):
        diff = np.abs(grey(state_image(a), size) - grey(state_image(b), size))
        assert (diff > 40).mean() > 0.10, (a, b, size)


def test_recording_is_red_and_idle_is_not():
    def red_fraction(img):
        a = np.asarray(img.convert("RGBA")).astype(int)
        red = (a[..., 0] > 170) & (a[..., 1] < 80) & (a[..., 2] < 80) & (a[..., 3] > 128)
        return red.mean()

    assert red_fraction(state_image(State.RECORDING)) > 0.2  # the disc: pi * 18^2 / 64^2
    assert red_fraction(state_image(State.IDLE)) == 0
    assert red_fraction(state_image(State.FINISHING)) == 0


def test_icons_have_light_and_dark_edges_for_any_panel():
    for state in State:
        a = np.asarray(state_image(state))
        opaque = a[..., 3] > 200
        lum = a[..., :3].mean(axis=2)[opaque]
        assert (lum > 230).any() and (lum < 60).any(), state


@pytest.mark.parametrize(
    "level, lit",
    [(None, 0), (float("-inf"), 0), (float("nan"), 0), (-90, 0), (-50, 1), (-40, 1), (-36, 2), (-20, 3), (-9, 4), (0, 4)],
)
def test_meter_segments(level, lit):
    assert meter_segments(level) == lit


def test_meter_is_drawn_into_the_recording_icon_and_cached():
    frames = [state_image(State.RECORDING, METER_STEPS_DB[i - 1] if i else None) for i in range(METER_SEGMENTS + 1)]
    for a, b in itertools.combinations(frames, 2):
        assert a.tobytes() != b.tobytes()
    # the meter only changes its own column; the disc stays
    a0, a4 = np.asarray(frames[0]), np.asarray(frames[-1])
    changed = np.argwhere((a0 != a4).any(axis=2))
    assert changed[:, 1].min() >= int(SIZE * 44 / 64)
    # more level lights more opaque meter area (lit = filled, unlit = outline only)
    opaque = [mask(f)[:, int(SIZE * 48 / 64):].sum() for f in frames]
    assert opaque == sorted(opaque) and opaque[0] < opaque[-1]
    # same level, same object: the tray skips redrawing
    assert state_image(State.RECORDING, -20.0) is state_image(State.RECORDING, -21.0)
    assert state_image(State.IDLE, -20.0) is state_image(State.IDLE)


def test_meter_is_legible_at_16_px():
    quiet = mask(state_image(State.RECORDING, None), 16)
    loud = mask(state_image(State.RECORDING, 0.0), 16)
    assert (quiet != loud).sum() >= 6


def test_shipped_pngs_match_the_drawing_code():
    for state in State:
        shipped = ROOT / "trayrip" / "desktop" / "images" / f"{state.value}.png"
        master = ROOT / "icons" / f"{state.value}.png"
        assert shipped.is_file() and master.is_file(), "run: python icons/render_icons.py"
        with Image.open(shipped) as img:
            got = np.asarray(img.convert("RGBA"), dtype=np.int16)
        want = np.asarray(draw_base(state, SIZE), dtype=np.int16)
        assert np.abs(got - want).mean() < 1.0, f"{shipped} is stale: run python icons/render_icons.py"
        with Image.open(master) as img:
            assert img.size == (256, 256)


def test_base_image_loads_the_shipped_png():
    icons.base_image.cache_clear()
    try:
        img = icons.base_image(State.ERROR)
        with Image.open(ROOT / "trayrip" / "desktop" / "images" / "error.png") as png:
            assert img.tobytes() == png.convert("RGBA").tobytes()
    finally:
        icons.base_image.cache_clear()
        icons._recording.cache_clear()


def test_render_script_check_passes():
    out = subprocess.run(
        [sys.executable, str(ROOT / "icons" / "render_icons.py"), "--check"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
