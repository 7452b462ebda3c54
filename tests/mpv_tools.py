"""A real MPRIS player for tests: mpv with the mpv-mpris plugin (Debian ``mpv``, ``mpv-mpris``)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import numpy as np

MPRIS_PLUGIN = Path("/usr/lib/mpv-mpris/mpris.so")


def tagged_flac(path: Path, data: np.ndarray, rate: int, **tags: str) -> Path:
    """Write ``data`` as FLAC with Vorbis comments (TITLE=…, ARTIST=…)."""
    import soundfile as sf
    from mutagen.flac import FLAC

    sf.write(str(path), data, rate, subtype="PCM_16", format="FLAC")
    f = FLAC(str(path))
    for key, value in tags.items():
        f[key] = value
    f.save()
    return path


def start_mpv(files: Sequence[Path], env: dict[str, str], *, audio: str = "null", extra: Sequence[str] = (),
              log: Path | None = None) -> subprocess.Popen:
    """mpv playing ``files`` gaplessly, with only the MPRIS script loaded (no user or system config).

    ``audio``: ``null`` (no sound server) or a Pulse sink name.
    """
    mpv = shutil.which("mpv")
    assert mpv, "mpv is not installed (Debian package mpv)"
    assert MPRIS_PLUGIN.exists(), f"{MPRIS_PLUGIN} is missing (Debian package mpv-mpris)"
    argv = [mpv, "--no-config", "--load-scripts=no", f"--script={MPRIS_PLUGIN}", "--no-video", "--idle=no",
            "--gapless-audio=yes", "--no-terminal", "--replaygain=no"]
    if audio == "null":
        argv.append("--ao=null")
    else:
        argv += ["--ao=pulse", f"--audio-device=pulse/{audio}"]
    argv += [*extra, "--", *map(str, files)]
    out = open(log, "ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
