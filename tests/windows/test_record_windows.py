"""`trayrip record` / `devices` in the Windows Python under Wine: WASAPI loopback, filed into the Known Folder."""
from __future__ import annotations

import re

import pytest
from winharness import wait_until
from wintools import first_sound_seconds, loud_seconds, peak_frequency, read, sounding_seconds, write_tone

TONE_HZ = 1000
TONE_SECONDS = 1.5
PAD_BEFORE, PAD_AFTER = 0.1, 0.3  # trayrip's SilenceSettings defaults


def _part_growing(folder, min_bytes: int):
    def check():
        return [p for p in folder.glob(".*.part") if p.stat().st_size >= min_bytes]
    return check


def record_tone(wine, music, tmp_path, *args: str, seconds: float = 5):
    """Start ``trayrip record -d SECONDS ARGS``, play the test tone once audio flows, return (filed, out, err).

    SECONDS leaves room for paplay's start under load: the tone must end before the recording does.
    """
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


# Audio that Wine's loopback loses between PulseAudio and the Windows process when the
# CPU is saturated: Wine's loopback runs on its own clock and puts silence where
# PulseAudio's data comes late (a gap inside the tone, or a shorter tone). Measured:
# none on a quiet machine; gaps and losses of 0.06-0.28 s with three Wine suites and
# other test runs on 2 cores; trayrip gets no overflow flag for it. Real Windows has no
# PulseAudio hop; the loss is bounded here, and the quiet-machine figures are in the README.
LOAD_LOSS = 0.3


def check_tone_shape(data, rate, tol: float) -> None:
    """Trimmed around the tone with trayrip's pads, the tone whole but for what Wine may drop under load."""
    length = len(data) / rate
    first, span, loud = first_sound_seconds(data, rate), sounding_seconds(data, rate), loud_seconds(data, rate)
    shape = f"{length:.3f} s long, sound from {first:.3f} s over {span:.3f} s, {loud:.3f} s of it loud"
    # trimmed: trayrip's pads (0.1 s before, 0.3 s after) around what sounds
    assert abs(first - PAD_BEFORE) < 0.02, shape
    assert abs(length - (PAD_BEFORE + span + PAD_AFTER)) < tol, f"not trimmed to the tone: {shape}"
    assert TONE_SECONDS - LOAD_LOSS <= loud <= TONE_SECONDS + 0.03, shape
    assert span <= TONE_SECONDS + LOAD_LOSS, shape


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
    check_tone_shape(data, rate, tol=0.05)
    assert abs(float(abs(data).max()) - 0.5) < 0.05, "the level changed on the way"


@pytest.mark.parametrize("fmt", ["mp3", "opus"])
def test_record_lossy_formats_with_the_bundled_ffmpeg(wine, music, tmp_path, fmt):
    """No ffmpeg on Windows' PATH: imageio-ffmpeg's ffmpeg.exe encodes (decoded here by libsndfile)."""
    filed, out, err = record_tone(wine, music, tmp_path, "--format", fmt)
    assert len(filed) == 1 and filed[0].suffix == f".{fmt}", (filed, err)
    data, rate = read(filed[0])
    assert abs(peak_frequency(data, rate) - TONE_HZ) < 3
    check_tone_shape(data, rate, tol=0.1)  # encoder priming and padding add a few ms
