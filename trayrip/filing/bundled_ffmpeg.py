"""The ffmpeg bundled with the ``imageio-ffmpeg`` wheel, when no other is found (filer or main thread).

Windows has no ffmpeg of its own and no package manager every user has, so
trayrip depends on ``imageio-ffmpeg`` there: its ``win_amd64`` wheel carries a
static ``ffmpeg.exe`` (LGPL/GPL build, about 30 MB). This is the only module
importing it.
"""
from __future__ import annotations

import logging
import os

__all__ = ["bundled_ffmpeg"]

log = logging.getLogger(__name__)


def bundled_ffmpeg() -> str | None:
    """Absolute path of imageio-ffmpeg's ffmpeg, or None when it is not installed or not runnable."""
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except (RuntimeError, OSError) as exc:  # it raises RuntimeError when it finds no binary
        log.info("imageio-ffmpeg has no ffmpeg here: %s", exc)
        return None
    return exe if exe and os.path.isfile(exe) else None
