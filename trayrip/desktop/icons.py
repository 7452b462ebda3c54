"""State -> tray icon image (Pillow), with the live level meter (tray UI thread).

Each state has its own *shape*, so the icons stay distinct without colour
(colour-blind users, monochrome panels) and legible at 16-32 px:

* idle: a hollow ring ("ready to record")
* recording: a filled disc (the record button) plus a 4-segment level meter
  on its right; lit segments are filled, unlit ones only outlined
* armed: a red sight -- ring, dot and four ticks ("waiting for sound")
* finishing: an arrow down into a tray (filing the recording)
* error: a warning triangle with "!"

Every shape has a light halo and a dark edge so it reads on dark and light
panels. The base images are drawn here (the single source of truth),
supersampled for smooth edges; ``icons/render_icons.py`` writes them as PNGs
into ``icons/`` (256 px masters, for docs and packaging) and into the
package's ``trayrip/desktop/images/`` (64 px), which is what runs: the PNGs are loaded
if present and drawn otherwise. Images are cached, so a meter update costs
a dictionary lookup unless the number of lit segments changed.
"""
from __future__ import annotations

import functools
import logging
import math
from importlib import resources

from PIL import Image, ImageDraw

from .state import State

__all__ = ["SIZE", "METER_SEGMENTS", "METER_STEPS_DB", "draw_base", "base_image", "state_image", "meter_segments"]

log = logging.getLogger(__name__)

SIZE = 64  # what the tray gets; panels scale it to their size
METER_SEGMENTS = 4
METER_STEPS_DB = (-50.0, -36.0, -22.0, -10.0)  # a segment lights at or above each level

_SS = 4  # supersampling factor

HALO = (250, 250, 250, 255)
EDGE = (32, 32, 32, 255)
IDLE_RING = (110, 110, 110, 255)
REC_RED = (222, 30, 38, 255)
FINISH_BLUE = (40, 110, 210, 255)
WARN_YELLOW = (246, 196, 40, 255)
METER_COLOURS = ((60, 190, 75, 255), (60, 190, 75, 255), (240, 200, 40, 255), (235, 60, 40, 255))
METER_OFF = (90, 90, 90, 255)


def _circle(d: ImageDraw.ImageDraw, cx: float, cy: float, r: float, **kw) -> None:
    d.ellipse((cx - r, cy - r, cx + r, cy + r), **kw)


def _draw(state: State, d: ImageDraw.ImageDraw, u: float) -> None:
    """Draw ``state`` in a 64-unit design space scaled by ``u`` pixels per unit."""
    if state is State.IDLE:
        cx = cy = 32 * u
        _circle(d, cx, cy, 27 * u, fill=HALO)
        _circle(d, cx, cy, 25 * u, fill=EDGE)
        _circle(d, cx, cy, 23 * u, fill=IDLE_RING)
        _circle(d, cx, cy, 13 * u, fill=EDGE)
        _circle(d, cx, cy, 11 * u, fill=HALO)
    elif state is State.RECORDING:
        cx, cy = 23 * u, 32 * u
        _circle(d, cx, cy, 22 * u, fill=HALO)
        _circle(d, cx, cy, 20 * u, fill=EDGE)
        _circle(d, cx, cy, 18 * u, fill=REC_RED)
        _meter(d, u, 0)
    elif state is State.ARMED:
        cx = cy = 32 * u
        for x0, y0, x1, y1 in ((29, 1, 35, 14), (29, 50, 35, 63), (1, 29, 14, 35), (50, 29, 63, 35)):  # sight ticks
            d.rectangle((x0 * u, y0 * u, x1 * u, y1 * u), fill=HALO)
            d.rectangle(((x0 + 1.5) * u, (y0 + 1.5) * u, (x1 - 1.5) * u, (y1 - 1.5) * u), fill=EDGE)
        _circle(d, cx, cy, 21 * u, fill=HALO)
        _circle(d, cx, cy, 19 * u, fill=EDGE)
        _circle(d, cx, cy, 17 * u, fill=REC_RED)
        _circle(d, cx, cy, 10 * u, fill=EDGE)
        _circle(d, cx, cy, 8 * u, fill=HALO)
        _circle(d, cx, cy, 5 * u, fill=REC_RED)
    elif state is State.FINISHING:
        # tray: a U-shaped bar at the bottom; arrow: shaft and head pointing into it
        tray = [(6, 40), (14, 40), (14, 50), (50, 50), (50, 40), (58, 40), (58, 60), (6, 60)]
        arrow = [(25, 4), (39, 4), (39, 22), (50, 22), (32, 44), (14, 22), (25, 22)]
        for poly, fill in ((tray, FINISH_BLUE), (arrow, FINISH_BLUE)):
            pts = [(x * u, y * u) for x, y in poly]
            d.polygon(pts, fill=fill, outline=EDGE, width=max(1, round(2.5 * u)))
        _outline_halo(d, tray, u)
        _outline_halo(d, arrow, u)
    elif state is State.ERROR:
        tri = [(32, 3), (62, 58), (2, 58)]
        pts = [(x * u, y * u) for x, y in tri]
        d.polygon(pts, fill=WARN_YELLOW, outline=EDGE, width=max(1, round(3 * u)))
        _outline_halo(d, tri, u)
        d.rounded_rectangle((28 * u, 19 * u, 36 * u, 42 * u), radius=3 * u, fill=EDGE)
        _circle(d, 32 * u, 50 * u, 4.5 * u, fill=EDGE)
    else:  # pragma: no cover
        raise ValueError(state)


def _outline_halo(d: ImageDraw.ImageDraw, poly, u: float) -> None:
    """A thin light line just outside a dark-edged polygon, for dark panels."""
    cx = sum(x for x, _ in poly) / len(poly)
    cy = sum(y for _, y in poly) / len(poly)
    grown = []
    for x, y in poly:
        dx, dy = x - cx, y - cy
        n = math.hypot(dx, dy) or 1.0
        grown.append(((x + 1.6 * dx / n) * u, (y + 1.6 * dy / n) * u))
    d.line(grown + grown[:1], fill=HALO, width=max(1, round(1.2 * u)), joint="curve")


def _meter(d: ImageDraw.ImageDraw, u: float, lit: int) -> None:
    x0, x1 = 48 * u, 62 * u
    top, bottom, gap = 6.0, 58.0, 3.0
    h = (bottom - top - gap * (METER_SEGMENTS - 1)) / METER_SEGMENTS
    width = max(1, round(2 * u))
    for i in range(METER_SEGMENTS):  # i = 0 is the bottom segment
        y1 = (bottom - i * (h + gap)) * u
        y0 = y1 - h * u
        if i < lit:
            d.rectangle((x0, y0, x1, y1), fill=METER_COLOURS[i], outline=EDGE, width=width)
        else:
            d.rectangle((x0, y0, x1, y1), fill=None, outline=METER_OFF, width=width)  # hollow: "off" without colour


def draw_base(state: State, size: int = SIZE) -> Image.Image:
    """Draw a state's icon (no meter lit) at ``size`` px, supersampled (RGBA)."""
    big = Image.new("RGBA", (size * _SS, size * _SS), (0, 0, 0, 0))
    _draw(state, ImageDraw.Draw(big), size * _SS / 64.0)
    return big.resize((size, size), Image.LANCZOS)


@functools.lru_cache(maxsize=None)
def base_image(state: State) -> Image.Image:
    """The shipped PNG for ``state`` (``trayrip/desktop/images/<state>.png``), or a drawn one."""
    try:
        ref = resources.files("trayrip.desktop").joinpath("images", f"{state.value}.png")
        with ref.open("rb") as f:
            img = Image.open(f)
            img.load()
        if img.size == (SIZE, SIZE):
            return img.convert("RGBA")
        log.debug("icon %s has size %s; drawing it instead", state.value, img.size)
    except (FileNotFoundError, OSError, ModuleNotFoundError) as exc:
        log.debug("no shipped icon for %s (%s); drawing it", state.value, exc)
    return draw_base(state, SIZE)


def meter_segments(level_db: float | None) -> int:
    """How many meter segments a level lights (0..METER_SEGMENTS)."""
    if level_db is None or level_db != level_db:
        return 0
    return sum(1 for step in METER_STEPS_DB if level_db >= step)


@functools.lru_cache(maxsize=32)
def _recording(lit: int) -> Image.Image:
    img = base_image(State.RECORDING).copy()
    if lit:
        _meter(ImageDraw.Draw(img), SIZE / 64.0, lit)
    return img


def state_image(state: State, level_db: float | None = None) -> Image.Image:
    """The icon to show: the state's image, with the meter lit for ``level_db`` while recording.

    Returns a cached image: callers must not draw on it.
    """
    if state is State.RECORDING:
        return _recording(meter_segments(level_db))
    return base_image(state)
