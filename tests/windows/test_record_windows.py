"""`trayrip record` / `devices` in the Windows Python under Wine: WASAPI loopback, filed into the Known Folder."""
from __future__ import annotations

import re

import pytest
from winharness import wait_until
from wintools import first_sound_seconds, max_gap_seconds, peak_frequency, read, sounding_seconds, write_tone

TONE_HZ = 1000
TONE_SECONDS = 1.5
PAD_BEFORE, PAD_AFTER = 0.1, 0.3  # trayrip's SilenceSettings defaults


def _part_growing(folder, min_bytes: int):
    def check():
        return [p for p in folder.glob(".*.part") if p.stat().st_size >= min_bytes]
    return check


def record_tone(wine, music, tmp_path, *args: str, seconds: float = 4):
    """Start ``trayrip record -d SECONDS ARGS``, play the test tone once audio flows, return (filed, proc)."""
    playlists = music / "playlists"
    tone = write_tone(tmp_path / "tone.wav", TONE_HZ, TONE_SECONDS)
    proc = wine.spawn_trayrip("record", "-d", str(seconds), "-q", *args)
    try:
        # Wine's loopback delivers frames 0.5-2 s after the stream starts: play once a quarter second is on disk.
        wait_until(lambda: proc.poll() is not None or (playlists.is_dir() and _part_growing(playlists, 48000)()),
                   30, "the capture file to grow")
        assert proc.poll() is None, proc.stderr_text()
        wine.play(tone)
        out, err = proc.finish(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    filed = [p for p in playlists.iterdir() if not p.name.startswith(".")]
    return filed, out, err


def test_devices_lists_the_loopback_device(wine):
    out = wine.trayrip("devices")
    assert out.returncode == 0, out.stderr
    marked = [line for line in out.stdout.splitlines() if line.lstrip().startswith("*")]
    assert len(marked) == 1, out.stdout
    assert "[Loopback]" in marked[0] and "WASAPI" in marked[0], out.stdout


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_record_files_the_tone_trimmed_into_the_music_known_folder(wine, music, tmp_path, fmt):
    filed, out, err = record_tone(wine, music, tmp_path, "--format", fmt)
    assert len(filed) == 1 and filed[0].suffix == f".{fmt}", (filed, err)
    # It printed the Windows path of what it filed.
    assert re.search(r"[A-Za-z]:\\.*playlists\\", out), out
    data, rate = read(filed[0])
    assert abs(peak_frequency(data, rate) - TONE_HZ) < 3, "recorded something else than the played tone"
    assert rate == 48000
    length = len(data) / rate
    # trimmed to the tone plus trayrip's pads (0.1 s before, 0.3 s after)
    assert abs(length - (PAD_BEFORE + TONE_SECONDS + PAD_AFTER)) < 0.05, f"not trimmed to the tone: {length:.3f} s"
    assert abs(first_sound_seconds(data, rate) - PAD_BEFORE) < 0.02
    assert abs(sounding_seconds(data, rate) - TONE_SECONDS) < 0.03
    assert max_gap_seconds(data, rate) == 0, "a dropout inside the tone"
    assert abs(float(abs(data).max()) - 0.5) < 0.05, "the level changed on the way"


@pytest.mark.parametrize("fmt", ["mp3", "opus"])
def test_record_lossy_formats_with_the_bundled_ffmpeg(wine, music, tmp_path, fmt):
    """No ffmpeg on Windows' PATH: imageio-ffmpeg's ffmpeg.exe encodes (decoded here by libsndfile)."""
    filed, out, err = record_tone(wine, music, tmp_path, "--format", fmt)
    assert len(filed) == 1 and filed[0].suffix == f".{fmt}", (filed, err)
    data, rate = read(filed[0])
    assert abs(peak_frequency(data, rate) - TONE_HZ) < 3
    length = len(data) / rate
    # encoder priming/padding adds a few ms
    assert abs(length - (PAD_BEFORE + TONE_SECONDS + PAD_AFTER)) < 0.1, f"{length:.3f} s"
    assert abs(sounding_seconds(data, rate) - TONE_SECONDS) < 0.06
