"""Loudness references for tests: ffmpeg's ebur128 filter (libebur128's algorithm) and ReplayGain tags read back."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import mutagen


def ffmpeg_lufs(path: Path) -> float:
    """Integrated loudness by ffmpeg's ebur128 filter, to 3 decimals (the last frame's running value)."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is part of the test set-up (installer/debian-test-packages.txt)"
    out = Path(path).parent / (Path(path).name + ".r128.txt")
    subprocess.run(
        [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path), "-af",
         f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={out}", "-f", "null", "-"],
        check=True, timeout=120,
    )
    values = [line.split("=", 1)[1] for line in out.read_text().splitlines() if line.startswith("lavfi.r128.I=")]
    out.unlink()
    return float(values[-1])


def replaygain_tags(path: Path) -> dict[str, str]:
    """REPLAYGAIN_* / R128_* as mutagen reads them (Vorbis comments, ID3 TXXX, a WAV's id3 chunk), keys uppercase."""
    audio = mutagen.File(str(path))
    assert audio is not None, path
    out: dict[str, str] = {}
    for key, value in (audio.tags or {}).items() if hasattr(audio.tags, "items") else []:
        text = value.text[0] if hasattr(value, "text") else value
        if isinstance(value, list):
            text = value[0]
        key = key.split(":", 1)[1] if key.startswith("TXXX:") else key
        if key.upper().startswith(("REPLAYGAIN_", "R128_")):
            out[key.upper()] = str(text)
    return out


def ffprobe_tags(path: Path) -> dict[str, str]:
    """The tags ffprobe reports for the file (format and stream level), keys uppercase."""
    import json

    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe is part of the test set-up"
    res = subprocess.run([ffprobe, "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True, timeout=60)
    data = json.loads(res.stdout)
    tags = dict(data.get("format", {}).get("tags", {}))
    for stream in data.get("streams", []):
        tags.update(stream.get("tags", {}))
    return {k.upper(): v for k, v in tags.items()}
