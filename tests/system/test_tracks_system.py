"""`trayrip record --tracks` with a real player: mpv + mpv-mpris on the harness's bus, playing into the null sink.

The playlist (generated, tagged FLAC files, a cover.png beside them):

1. "First Light" (Ann), 550 Hz for 9 s then 1 s of silence — the recording
   joins it mid-way, so it is filed as partial;
2. "Second Wind" (Bob), 880 Hz for 8 s, paused for 2 s in the middle, and
   changing **gaplessly** into
3. "Third Degree" (Cy), 1320 Hz for 6 s.

Each filed track must carry its name, tags and cover from the metadata,
ReplayGain track and album gain/peak (as ffmpeg's ebur128 measures the file),
hold only its own frequency, have the pause cut out, and the gapless
boundary must be within ±0.15 s; the .m3u8 lists them in play order.
"""
from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
from harness import wait_until
from loudness_tools import ffmpeg_lufs
from mpv_tools import start_mpv, stop, tagged_flac
from test_capture_system import start_record, wait_for_capture_file

RATE = 48000
BOUNDARY_TOL = 0.15  # issue 11: the gapless boundary within ±0.15 s
PAD_BEFORE = 0.100
PAD_AFTER = 0.300
TRACKS = [  # title, artist, freq, seconds of tone, seconds of silence at the end
    ("First Light", "Ann", 550.0, 9.0, 1.0),
    ("Second Wind", "Bob", 880.0, 8.0, 0.0),
    ("Third Degree", "Cy", 1320.0, 6.0, 0.0),
]
PLAYER = "org.mpris.MediaPlayer2.mpv"
JOIN_AT = 3.0  # s into track 1 when the recording starts
PAUSE_AT = 3.0  # s into track 2 when it is paused
PAUSE_FOR = 2.0  # s of audio captured while paused


def _audio(freq, seconds, quiet):
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.25 * np.sin(2 * np.pi * freq * t)
    x = np.concatenate([x, np.zeros(round(quiet * RATE))])
    return np.stack([x, x], axis=1)


def _player(bus):
    from trayrip.sessionbus import DBusAddress

    return DBusAddress("/org/mpris/MediaPlayer2", bus_name=PLAYER)


def _prop(bus, name):
    from trayrip.sessionbus import BusError

    try:
        return bus.get_property(_player(bus), "org.mpris.MediaPlayer2.Player", name)
    except BusError:
        return None


def _call(bus, method):
    from trayrip.sessionbus import DBusAddress, new_method_call

    bus.call(new_method_call(DBusAddress("/org/mpris/MediaPlayer2", bus_name=PLAYER,
                                         interface="org.mpris.MediaPlayer2.Player"), method))


def _playing(bus, title, at_least):
    md = _prop(bus, "Metadata") or {}
    if md.get("xesam:title") != title or _prop(bus, "PlaybackStatus") != "Playing":
        return False
    pos = _prop(bus, "Position")
    return pos is not None and pos / 1e6 >= at_least


def _capture_bytes(folder: Path) -> int:
    parts = list(folder.glob(".trayrip-*.wav.part"))
    return parts[0].stat().st_size if parts else 0


def _frequency_runs(x, rate, window=0.01):
    """Per 10 ms window: the strongest of our frequencies, or 0 for silence."""
    mono = at.to_mono(x)
    w = round(window * rate)
    n = len(mono) // w
    frames = mono[: n * w].reshape(n, w)
    t = np.arange(w) / rate
    out = np.zeros(n)
    loud = np.sqrt(np.mean(np.square(frames), axis=1)) > 10 ** (-40 / 20)
    powers = []
    for _title, _artist, f, _s, _q in TRACKS:
        c, s = np.cos(2 * np.pi * f * t), np.sin(2 * np.pi * f * t)
        powers.append(np.square(frames @ c) + np.square(frames @ s))
    best = np.array([TRACKS[i][2] for i in np.argmax(np.stack(powers), axis=0)])
    out[loud] = best[loud]
    return out


def test_tracks_from_a_real_player(harness, user_env, harness_environ, tmp_path):
    from mutagen.flac import FLAC

    from trayrip.sessionbus import SessionBus

    music = tmp_path / "music"
    music.mkdir()
    (music / "cover.png").write_bytes(_png())  # mpv-mpris offers a cover.png beside the file as a file:// artUrl
    files = []
    for n, (title, artist, freq, secs, quiet) in enumerate(TRACKS, 1):
        files.append(tagged_flac(music / f"{n}.flac", _audio(freq, secs, quiet), RATE, title=title, artist=artist,
                                 album="Test Album", albumartist="Various", date="2024-05-01", genre="Testing"))
    out = tmp_path / "out"
    out.mkdir()
    mpv = start_mpv(files, user_env, audio=harness.sink, log=tmp_path / "mpv.log")
    rec = None
    try:
        with SessionBus() as bus:
            wait_until(lambda: _playing(bus, "First Light", JOIN_AT), 20, "mpv playing track 1")
            rec = start_record(user_env, "--tracks", "--format", "flac", "-f", str(out))
            wait_for_capture_file(out)
            wait_until(lambda: _playing(bus, "Second Wind", PAUSE_AT), 30, "track 2 playing")
            _call(bus, "Pause")
            wait_until(lambda: _prop(bus, "PlaybackStatus") == "Paused", 5, "mpv paused")
            paused_at = _capture_bytes(out)
            wait_until(lambda: _capture_bytes(out) - paused_at >= PAUSE_FOR * RATE * 4, 10, "audio while paused")
            _call(bus, "Play")
            mpv.wait(60)
            ended = _capture_bytes(out)
            def after_the_playlist():
                assert rec.poll() is None, f"trayrip record ended early: {rec.communicate()[1]}"
                return _capture_bytes(out) - ended >= RATE * 4

            wait_until(after_the_playlist, 10, "audio after the playlist")
        rec.send_signal(signal.SIGINT)
        stdout, err = rec.communicate(timeout=60)
    finally:
        stop(mpv)
        if rec is not None and rec.poll() is None:
            rec.kill()
            rec.wait()
    assert rec.returncode == 0 and "Traceback" not in err, err
    folder = Path(stdout.strip().splitlines()[-1])
    assert folder.is_dir(), (stdout, err)
    assert folder.parent == out and folder.name.endswith("Test Album"), folder
    names = sorted(p.name for p in folder.glob("*.flac"))
    assert names == ["01 Ann - First Light (partial).flac", "02 Bob - Second Wind.flac", "03 Cy - Third Degree.flac"], (
        names, err)
    # playlist in play order
    m3u = next(folder.glob("*.m3u8")).read_text(encoding="utf-8").splitlines()
    assert m3u[0] == "#EXTM3U"
    assert [line for line in m3u if not line.startswith("#")] == names
    assert [line.split(",", 1)[1] for line in m3u if line.startswith("#EXTINF")] == [
        "Ann - First Light", "Bob - Second Wind", "Cy - Third Degree"]
    cover = (music / "cover.png").read_bytes()
    audio = {}
    for n, (name, (title, artist, freq, _secs, _quiet)) in enumerate(zip(names, TRACKS, strict=True), 1):
        tags = FLAC(str(folder / name))
        assert tags["title"] == [title] and tags["artist"] == [artist] and tags["album"] == ["Test Album"]
        assert tags["albumartist"] == ["Various"] and tags["date"] == ["2024-05-01"] and tags["genre"] == ["Testing"]
        assert tags["tracknumber"] == [str(n)]
        assert tags.pictures and tags.pictures[0].data == cover and tags.pictures[0].mime == "image/png"
        data, rate = sf.read(str(folder / name), always_2d=True)
        audio[n] = data
        assert abs(at.dominant_frequency(data, rate) - freq) < 2, name
        assert at.band_level_db(data, 440, rate) < -30, "the decoy 440 Hz default source was recorded"
        # ReplayGain: measured as the track was written, as ffmpeg measures the filed file; one album value
        gain = float(tags["REPLAYGAIN_TRACK_GAIN"][0].removesuffix(" dB"))
        assert abs(gain - (-18.0 - ffmpeg_lufs(folder / name))) <= 0.1, (name, gain)
        assert abs(float(tags["REPLAYGAIN_TRACK_PEAK"][0]) - np.abs(data).max()) < 1e-3
        assert tags["REPLAYGAIN_ALBUM_GAIN"] == FLAC(str(folder / names[0]))["REPLAYGAIN_ALBUM_GAIN"]
        # a 0.25 sine is -12 LUFS (the quieter blocks at its ends count a little): about -6 dB to -18 LUFS
        assert -6.0 <= float(tags["REPLAYGAIN_ALBUM_GAIN"][0].removesuffix(" dB")) <= -5.5
    # 1: joined mid-way; ends in its silence with the tail pad, nothing of track 2
    runs1 = _frequency_runs(audio[1], RATE)
    assert set(runs1[runs1 > 0]) == {550.0}
    assert len(audio[1]) / RATE < TRACKS[0][3] - JOIN_AT + 1.0
    last = np.flatnonzero(runs1 > 0)[-1] + 1
    assert len(audio[1]) / RATE - last * 0.01 == pytest.approx(PAD_AFTER, abs=0.05), "cut in the silence, tail pad kept"
    # 2: the lead-in pad, its own 8 s of tone with the pause cut out (no silence inside)
    runs2 = _frequency_runs(audio[2], RATE)
    sound = np.flatnonzero(runs2 > 0)
    inner = runs2[sound[0]: sound[-1] + 1]
    assert np.count_nonzero(inner == 0) <= 2, "the pause was not cut out"
    assert sound[0] * 0.01 == pytest.approx(PAD_BEFORE, abs=0.05)
    # the gapless boundary: 1320 Hz bleeding into the end of track 2, or 880 Hz left at the start of track 3
    bleed = np.count_nonzero(runs2 == 1320.0) * 0.01
    runs3 = _frequency_runs(audio[3], RATE)
    clipped = np.count_nonzero(runs3 == 880.0) * 0.01
    own2 = np.count_nonzero(runs2 == 880.0) * 0.01
    own3 = np.count_nonzero(runs3 == 1320.0) * 0.01
    print(f"boundary: track 2 has {own2:.2f} s of its tone (+{bleed:.2f} s of track 3); "
          f"track 3 has {own3:.2f} s (+{clipped:.2f} s of track 2)")
    assert bleed <= BOUNDARY_TOL and clipped <= BOUNDARY_TOL
    assert own2 == pytest.approx(TRACKS[1][3], abs=BOUNDARY_TOL + 0.05)
    assert own3 == pytest.approx(TRACKS[2][3], abs=BOUNDARY_TOL + 0.05)


def _png() -> bytes:
    """A tiny valid PNG (2×2 blue), made without a network or an image tool."""
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x30\x60\xc0" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_no_player_records_one_file_and_says_so_once(harness, user_env, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    tone = tmp_path / "tone.wav"
    at.write_wav(tone, np.concatenate([at.silence(0.3), at.tone(700, 1.5), at.silence(0.3)]))
    rec = start_record(user_env, "--tracks", "-f", str(out))
    try:
        wait_for_capture_file(out)
        harness.play(tone)
        start = _capture_bytes(out)
        wait_until(lambda: _capture_bytes(out) - start >= 0.5 * RATE * 4, 10, "audio after the tone")
        rec.send_signal(signal.SIGINT)
        stdout, err = rec.communicate(timeout=30)
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
    assert rec.returncode == 0, err
    path = Path(stdout.strip().splitlines()[-1])
    assert path.is_file() and path.suffix == ".wav"
    said = [line for line in err.splitlines() if "track changes" in line]
    assert len(said) == 1 and "no media player" in said[0], err
    data, rate = at.read_audio(path)
    assert abs(at.dominant_frequency(data, rate) - 700) < 2
