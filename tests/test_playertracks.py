"""Filing a recording by the player's events (``--tracks``), without a sound server: a capture file
written by the real WavWriter, player events as the watcher posts them, the real filer."""
from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf

import trayrip
from trayrip.capture.base import AudioFormat
from trayrip.capture.fake import FakeSource
from trayrip.filing.finish import FilingPlan
from trayrip.filing.tags import read_wav_info
from trayrip.nowplaying.metadata import PlayerEvent, TrackInfo
from trayrip.playertracks import TrackFollower, local_cover
from trayrip.recording.recorder import RecordingResult
from trayrip.recording.writer import WavWriter
from trayrip.wav.pcm import from_float

RATE = 16000
A = TrackInfo("/a", "Alpha", "Ann", album="LP", length=4.0, track=1)
B = TrackInfo("/b", "Beta", "Bob", album="LP", length=3.0, track=2)


def tone(freq, seconds):
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([x, x], axis=1).astype(np.float32)


def capture(tmp_path, pieces):
    data = np.concatenate(pieces)
    part = tmp_path / ".trayrip-test.wav.part"
    w = WavWriter(part, AudioFormat(RATE, 2, 2))
    w.write(from_float(data, 2))
    w.close()
    frames = len(data)
    return RecordingResult(part, AudioFormat(RATE, 2, 2), frames, (0, frames), [], 0, 0, 0,
                           clock=((0, 100.0), (frames, 100.0 + frames / RATE)))


def follower(events):
    f = TrackFollower()
    for e in events:
        f.events.put(e)
    return f


def ev(kind, t, track, status="Playing"):
    return PlayerEvent(kind, 100.0 + t, "org.mpris.MediaPlayer2.x", status, track)


def test_wav_tracks_with_tags_and_a_second_play_of_the_same_track(tmp_path):
    # A | B | back to A, played again whole: a new file beside the first, never an overwrite
    result = capture(tmp_path, [tone(500, 4), tone(900, 3), tone(500, 4)])
    events = [ev("state", -0.3, A), ev("track", 4.2, B), ev("track", 7.1, A)]
    filed = follower(events).file(result, FilingPlan(), keep=(0, result.frames), when=None, device="test")
    names = [p.name for p in filed.tracks]
    assert names == ["01 Ann - Alpha.wav", "02 Bob - Beta.wav", "01 Ann - Alpha (2).wav"]
    assert filed.path.name.endswith(" LP") and not result.part.exists()
    for path, freq in zip(filed.tracks, (500, 900, 500)):
        data, rate = sf.read(str(path), always_2d=True)
        spec = np.abs(np.fft.rfft(data[:, 0]))
        assert abs(np.argmax(spec) * rate / len(data) - freq) < 2
    from mutagen.wave import WAVE

    id3 = WAVE(str(filed.tracks[1])).tags
    assert str(id3["TIT2"]) == "Beta" and str(id3["TPE1"]) == "Bob" and str(id3["TRCK"]) == "2"
    assert read_wav_info(filed.tracks[1])["IART"] == "Bob"
    assert filed.playlist.read_text().splitlines()[1:] == [
        "#EXTINF:4,Ann - Alpha", names[0], "#EXTINF:3,Bob - Beta", names[1], "#EXTINF:4,Ann - Alpha", names[2]]


def test_partial_tracks_left_out_when_asked(tmp_path):
    result = capture(tmp_path, [tone(500, 2), tone(900, 3)])  # joined A 2 s before its end
    events = [ev("state", -0.3, A), ev("track", 2.1, B)]
    filed = follower(events).file(result, FilingPlan(), keep=(0, result.frames), when=None, device="",
                                  keep_partial=False)
    assert [p.name for p in filed.tracks] == ["02 Bob - Beta.wav"]


def test_no_player_falls_back_and_says_so_once(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    data = np.concatenate([np.zeros((RATE // 2, 2), np.float32), tone(700, 2), np.zeros((RATE // 2, 2), np.float32)])
    with caplog.at_level(logging.WARNING):
        path = trayrip.record(len(data) / RATE, source=FakeSource(data, RATE, 2, speed=None), folder=tmp_path,
                              tracks=True)
    assert path.is_file() and path.suffix == ".wav"  # one recording, as without --tracks
    said = [r.getMessage() for r in caplog.records if "track changes" in r.getMessage()]
    assert len(said) == 1 and "no media player" in said[0] and "one recording" in said[0]


def test_cover_art_only_from_local_files(tmp_path):
    png = tmp_path / "c.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n rest")
    assert local_cover(png.as_uri()) == (png.read_bytes(), "image/png")
    assert local_cover("https://example.org/c.png") == (b"", "")
    assert local_cover((tmp_path / "missing.jpg").as_uri()) == (b"", "")
    (tmp_path / "t.txt").write_text("not an image")
    assert local_cover((tmp_path / "t.txt").as_uri()) == (b"", "")


def test_tracks_refuse_an_output_file(tmp_path):
    with pytest.raises(trayrip.TrayripError, match="folder of tracks"):
        trayrip.record(1, source=FakeSource(tone(500, 1), RATE, 2, speed=None), output=tmp_path / "x.wav",
                       tracks=True)


def test_remote_art_only_when_turned_on(tmp_path):
    """A web server on this machine stands in for the web: no request at all unless remote art is on."""
    import http.server
    import threading

    png = b"\x89PNG\r\n\x1a\n remote"
    asked = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="test-http", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cover.png"
        assert local_cover(url) == (b"", "") and asked == []
        assert local_cover(url, remote=True) == (png, "image/png") and asked == ["/cover.png"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_hostile_metadata_stays_inside_the_folder(tmp_path):
    evil = TrackInfo("/e", "../../../etc/passwd", "..", album="../../up", length=3.0)
    result = capture(tmp_path, [tone(500, 3)])
    filed = follower([ev("state", 0.0, evil)]).file(result, FilingPlan(), keep=(0, result.frames), when=None,
                                                     device="")
    (track,) = filed.tracks
    assert track.resolve().parent == filed.path.resolve() and filed.path.resolve().parent == tmp_path.resolve()
    assert "/" not in track.name and not track.name.startswith(".")


AD = TrackInfo("spotify:ad:1", "Advertisement", "", length=5.0, ad="the player marks it as an ad")


@pytest.mark.parametrize("skip_ads", [True, False])
def test_ads_left_out_and_counted(tmp_path, skip_ads):
    result = capture(tmp_path, [tone(500, 4), tone(1500, 5), tone(900, 3)])
    events = [ev("state", -0.3, A), ev("track", 4.1, AD), ev("track", 9.1, B)]
    filed = follower(events).file(result, FilingPlan(), keep=(0, result.frames), when=None, device="",
                                  skip_ads=skip_ads)
    names = [p.name for p in filed.tracks]
    if skip_ads:
        assert names == ["01 Ann - Alpha.wav", "02 Bob - Beta.wav"] and filed.left_out == "left out: 1 ad"
        for path in filed.tracks:  # nothing of the ad's 1500 Hz in the songs either side
            data, rate = sf.read(str(path), always_2d=True)
            spec = np.abs(np.fft.rfft(data[:, 0]))
            freqs = np.fft.rfftfreq(len(data), 1 / rate)
            assert spec[np.abs(freqs - 1500) < 20].max() < 0.01 * spec.max()
    else:
        assert len(names) == 3 and filed.left_out is None


@pytest.mark.parametrize("mode", ["keep-both", "skip", "keep-longer"])
def test_duplicates_as_configured(tmp_path, mode):
    """Alpha was filed before (2 s, by trayrip) in the folder tree; this session plays it whole (4 s) and Beta."""
    old_session = tmp_path / "old"
    old_session.mkdir()
    earlier = capture(old_session, [tone(500, 2)])
    short = follower([ev("state", -0.3, A)]).file(earlier, FilingPlan(), keep=(0, earlier.frames), when=None,
                                                  device="")
    old = short.tracks[0]
    result = capture(tmp_path, [tone(500, 4), tone(900, 3)])
    events = [ev("state", -0.3, A), ev("track", 4.1, B)]
    filed = follower(events).file(result, FilingPlan(), keep=(0, result.frames), when=None, device="",
                                  duplicates=mode)
    here = sorted(p.name for p in filed.tracks)
    everywhere = sorted(p.name for p in tmp_path.rglob("*.wav"))
    if mode == "keep-both":
        assert here == ["01 Ann - Alpha.wav", "02 Bob - Beta.wav"] and old.exists() and filed.left_out is None
    elif mode == "skip":
        assert here == ["02 Bob - Beta.wav"] and old.exists()
        assert filed.left_out == "left out: 1 track already in the folder"
    else:  # the new one is longer: it is filed, the shorter one trayrip made is gone
        assert here == ["01 Ann - Alpha.wav", "02 Bob - Beta.wav"] and not old.exists()
    assert len(everywhere) == {"keep-both": 3, "skip": 2, "keep-longer": 2}[mode]
