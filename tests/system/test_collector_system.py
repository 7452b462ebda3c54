"""`trayrip record --tracks` leaves out ads and tracks already in the folder, with a real MPRIS player on the
harness's bus (tests/mpris_player.py: metadata fully under the test's control) playing into the null sink.

Playlist: Alpha (Ann, 550 Hz) · an ad Spotify-style (trackid ``/com/spotify/ad/…``, 1500 Hz) · Beta (Bob,
880 Hz) · an ad that says nothing (no title or artist, 3 s, 2000 Hz) · Gamma (Cy, 1320 Hz), which is already
in the folder tree. With ``--duplicates skip`` only Alpha and Beta are filed, holding none of the ads' tones,
each with ReplayGain track and album tags; the warning counts what was left out.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

import audio_tools as at
from harness import wait_until
from recorder_tools import start_record, wait_for_capture_file

RATE = 48000
TESTS = Path(__file__).resolve().parent.parent
ITEMS = [  # title, artist, trackid, freq, seconds
    ("Alpha", "Ann", "/org/trayrip/track/1", 550.0, 5.0),
    ("Buy Now", "Brand", "/com/spotify/ad/0001", 1500.0, 4.0),
    ("Beta", "Bob", "/org/trayrip/track/2", 880.0, 5.0),
    ("", "", "/org/trayrip/track/3", 2000.0, 3.0),
    ("Gamma", "Cy", "/org/trayrip/track/4", 1320.0, 4.0),
]


def _tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.25 * np.sin(2 * np.pi * freq * t)
    return np.stack([x, x], axis=1)


def _capture_bytes(folder: Path) -> int:
    parts = list(folder.glob(".trayrip-*.wav.part"))
    return parts[0].stat().st_size if parts else 0


def test_ads_and_duplicates_left_out(harness, user_env, tmp_path):
    from mutagen.flac import FLAC

    from trayrip.filing.tags import Tags, write_tags

    out = tmp_path / "out"
    (out / "older session").mkdir(parents=True)
    have = out / "older session" / "05 Cy - Gamma.flac"
    sf.write(str(have), _tone(1320.0, 4.0), RATE)
    write_tags(have, "flac", Tags(title="Gamma", artist="Cy"))
    playlist = []
    for n, (title, artist, trackid, freq, secs) in enumerate(ITEMS, 1):
        path = at.write_wav(tmp_path / f"{n}.wav", _tone(freq, secs), RATE)
        playlist.append({"file": str(path), "trackid": trackid, "title": title, "artist": artist,
                         "album": "Mix" if title and artist != "Brand" else "", "length": secs})
    (tmp_path / "playlist.json").write_text(json.dumps(playlist))
    player = subprocess.Popen([sys.executable, str(TESTS / "mpris_player.py"), str(tmp_path / "playlist.json"),
                               harness.sink], env=user_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    rec = None
    try:
        assert player.stdout.readline().strip() == "READY", player.stderr.read()
        rec = start_record(user_env, "--tracks", "--duplicates", "skip", "--format", "flac", "-f", str(out))
        wait_for_capture_file(out)
        player.stdin.write("play\n")
        player.stdin.flush()
        lines = []
        while "DONE" not in lines:
            line = player.stdout.readline()
            assert line, f"the test player ended: {player.stderr.read()}"
            lines.append(line.strip())
        ended = _capture_bytes(out)
        wait_until(lambda: _capture_bytes(out) - ended >= RATE * 4, 10, "audio after the playlist")
        rec.send_signal(signal.SIGINT)
        stdout, err = rec.communicate(timeout=60)
    finally:
        player.kill()
        player.wait()
        if rec is not None and rec.poll() is None:
            rec.kill()
            rec.wait()
    assert rec.returncode == 0 and "Traceback" not in err, err
    assert "left out: 2 ads, 1 track already in the folder" in err, err
    folder = Path(stdout.strip().splitlines()[-1])
    names = sorted(p.name for p in folder.glob("*.flac"))
    assert names == ["01 Ann - Alpha.flac", "02 Bob - Beta.flac"], (names, err)
    assert have.exists()
    albums = set()
    for name, freq in zip(names, (550.0, 880.0)):
        data, rate = sf.read(str(folder / name), always_2d=True)
        assert abs(at.dominant_frequency(data, rate) - freq) < 2, name
        for ad_freq in (1500.0, 2000.0, 1320.0):  # the ads and the duplicate are in no file
            assert at.band_level_db(data, ad_freq, rate) < at.band_level_db(data, freq, rate) - 40, (name, ad_freq)
        tags = FLAC(str(folder / name))
        assert tags["REPLAYGAIN_TRACK_GAIN"][0].endswith(" dB") and len(tags["REPLAYGAIN_TRACK_PEAK"][0]) == 8
        albums.add(tags["REPLAYGAIN_ALBUM_GAIN"][0])
    assert len(albums) == 1
