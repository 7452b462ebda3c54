#!/usr/bin/env python3
"""Render trayrip's tray icons from the drawing code in trayrip/desktop/icons.py.

    python icons/render_icons.py          # (re)write the PNGs
    python icons/render_icons.py --check  # exit 1 if a PNG is missing or stale

Writes icons/<state>.png (256 px masters, plus a preview strip of every state
and meter level at 16/22/32 px) and trayrip/desktop/images/<state>.png (64 px, shipped
in the package and loaded at run time). tests/desktop/test_icons.py checks that the
shipped PNGs match the drawing code.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from PIL import ImageDraw  # noqa: E402

from trayrip.desktop import icons  # noqa: E402
from trayrip.desktop.icons import METER_SEGMENTS, SIZE, draw_base  # noqa: E402
from trayrip.desktop.state import State  # noqa: E402

MASTER = 256


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _preview() -> Image.Image:
    """Every state and meter level at 16, 22 and 32 px, on a light and a dark band."""
    frames = [draw_base(s, SIZE) for s in State if s is not State.RECORDING]
    for lit in range(METER_SEGMENTS + 1):  # as icons.state_image composes it, from the fresh drawing
        frame = draw_base(State.RECORDING, SIZE)
        if lit:
            icons._meter(ImageDraw.Draw(frame), SIZE / 64.0, lit)
        frames.append(frame)
    sizes = (16, 22, 32)
    w = sum(sizes) + 8 * (len(sizes) + 1)
    strip = Image.new("RGBA", (w * 2, (32 + 8) * len(frames) + 8), (0, 0, 0, 0))
    for band, bg in enumerate(((236, 236, 236, 255), (40, 40, 40, 255))):
        strip.paste(Image.new("RGBA", (w, strip.height), bg), (band * w, 0))
        for row, frame in enumerate(frames):
            x = band * w + 8
            for s in sizes:
                small = frame.resize((s, s), Image.LANCZOS)
                strip.alpha_composite(small, (x, 8 + row * 40 + (32 - s) // 2))
                x += s + 8
    return strip


def outputs() -> dict[Path, bytes]:
    out: dict[Path, bytes] = {}
    for state in State:
        out[ROOT / "icons" / f"{state.value}.png"] = _png(draw_base(state, MASTER))
        out[ROOT / "trayrip" / "desktop" / "images" / f"{state.value}.png"] = _png(draw_base(state, SIZE))
    out[ROOT / "icons" / "preview.png"] = _png(_preview())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that the PNGs are up to date")
    args = parser.parse_args()
    stale = []
    for path, data in outputs().items():
        current = path.read_bytes() if path.exists() else None
        if args.check:
            if path.parent.name == "images" and path.parent.parent.name == "desktop" and current is not None:
                # compare pixels, not bytes: PNG encoders may differ between Pillow versions
                same = Image.open(io.BytesIO(current)).convert("RGBA").tobytes() == \
                    Image.open(io.BytesIO(data)).convert("RGBA").tobytes()
            else:
                same = current is not None
            if not same:
                stale.append(path)
        elif current != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("stale or missing: " + ", ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
