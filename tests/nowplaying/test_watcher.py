"""The player watcher against a real player (mpv + mpv-mpris) on a private dbus-daemon."""
from __future__ import annotations

import os
import queue
import subprocess

import numpy as np
import pytest

from mpv_tools import start_mpv, stop, tagged_flac
from trayrip.nowplaying.metadata import track_from_metadata
from trayrip.nowplaying.watcher import PlayerWatcher

RATE = 48000


@pytest.fixture
def private_bus(monkeypatch):
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--print-address", "--nofork", "--nopidfile"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = daemon.stdout.readline().strip()
        assert address.startswith("unix:"), "dbus-daemon did not start"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield dict(os.environ, DBUS_SESSION_BUS_ADDRESS=address)
    finally:
        daemon.terminate()
        daemon.wait(10)


def _tone(freq, seconds):
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([x, x], axis=1)


def next_event(q, predicate, timeout=15.0):
    """The first event matching ``predicate`` (earlier ones are dropped)."""
    while True:
        event = q.get(timeout=timeout)
        if predicate(event):
            return event


def test_metadata_track_changes_and_the_player_leaving(private_bus, tmp_path):
    a = tagged_flac(tmp_path / "a.flac", _tone(440, 1.5), RATE, title="First Song", artist="Ann", album="Tests",
                    albumartist="Various", tracknumber="3", discnumber="1", date="2024-05-01", genre="Test")
    b = tagged_flac(tmp_path / "b.flac", _tone(660, 1.5), RATE, title="Second Song", artist="Bob", album="Tests",
                    tracknumber="4")
    events: queue.Queue = queue.Queue()
    watcher = PlayerWatcher(events)
    watcher.start()
    try:
        first = events.get(timeout=5)
        assert first.kind == "none"  # nothing on the bus yet
        assert watcher._thread.name == "trayrip-nowplaying"
        mpv = start_mpv([a, b], private_bus)
        try:
            one = next_event(events, lambda e: e.track is not None and e.track.title == "First Song" and e.track.length)
            assert one.player == "org.mpris.MediaPlayer2.mpv" and one.status == "Playing"
            t = one.track
            assert (t.artist, t.album, t.albumartist, t.date, t.genre) == ("Ann", "Tests", "Various", "2024-05-01", "Test")
            # mpv-mpris 1.0 (Debian 12) leaves out xesam:trackNumber: the timeline numbers tracks in play order then
            assert t.length == pytest.approx(1.5, abs=0.05)
            two = next_event(events, lambda e: e.track is not None and e.track.title == "Second Song")
            assert two.kind == "track" and two.track.artist == "Bob"
            assert two.arrival > one.arrival
            assert two.position is not None and two.position_at >= two.arrival
            gone = next_event(events, lambda e: e.kind == "gone")
            assert gone.track.title == "Second Song"
            assert next_event(events, lambda e: True).kind == "none"
        finally:
            stop(mpv)
    finally:
        watcher.stop()
    assert not watcher._thread.is_alive()


def test_follows_the_player_that_plays(private_bus, tmp_path):
    quiet = tagged_flac(tmp_path / "paused.flac", _tone(300, 30), RATE, title="Paused One")
    loud = tagged_flac(tmp_path / "playing.flac", _tone(500, 30), RATE, title="Playing One")
    events: queue.Queue = queue.Queue()
    paused = start_mpv([quiet], private_bus, extra=["--pause"])
    playing = None
    watcher = PlayerWatcher(events)
    try:
        watcher.start()
        first = next_event(events, lambda e: e.track is not None and e.track.title == "Paused One")
        assert first.status == "Paused"
        playing = start_mpv([loud], private_bus)
        switch = next_event(events, lambda e: e.kind == "switch")
        assert switch.playing and switch.player != first.player
        assert switch.player.startswith("org.mpris.MediaPlayer2.mpv")
        named = switch  # mpv names a file by its file name until it has read the tags
        while not (named.track and named.track.title == "Playing One"):
            named = events.get(timeout=15)
        assert named.track.title == "Playing One" and named.player == switch.player
    finally:
        watcher.stop()
        stop(paused)
        if playing:
            stop(playing)


def test_metadata_from_lists_and_odd_values():
    t = track_from_metadata({
        "mpris:trackid": "/org/x/1", "mpris:length": 215_500_000, "xesam:title": " Song ",
        "xesam:artist": ["A", "B"], "xesam:albumArtist": ["V"], "xesam:trackNumber": 7, "xesam:discNumber": "2/3",
        "xesam:contentCreated": "2019-03-04T00:00:00Z", "xesam:genre": ["Pop", "Rock"],
        "mpris:artUrl": "file:///tmp/c.png",
    })
    assert (t.title, t.artist, t.albumartist, t.track, t.disc, t.date, t.genre) == (
        "Song", "A, B", "V", 7, 2, "2019-03-04", "Pop, Rock")
    assert t.length == pytest.approx(215.5)
    assert not track_from_metadata({}).known


def test_app_follows_only_the_named_player(private_bus, tmp_path):
    song = tagged_flac(tmp_path / "s.flac", _tone(500, 30), RATE, title="Some Song")
    events: queue.Queue = queue.Queue()
    mpv = start_mpv([song], private_bus)
    try:
        seen: queue.Queue = queue.Queue()
        probe = PlayerWatcher(seen)  # waits until mpv is on the bus and playing
        probe.start()
        next_event(seen, lambda e: e.playing and e.track is not None and e.track.title == "Some Song")
        probe.stop()
        other = PlayerWatcher(events, app="vlc")
        other.start()
        try:
            assert events.get(timeout=5).kind == "none"  # mpv plays, but it is not the player asked for
        finally:
            other.stop()
        mine = PlayerWatcher(events, app="MPV")
        mine.start()
        try:
            first = events.get(timeout=5)
            assert first.kind == "state" and first.player == "org.mpris.MediaPlayer2.mpv"
        finally:
            mine.stop()
    finally:
        stop(mpv)


def test_a_year_only_date_from_the_player_stays_a_year():
    """Issue 20, defect 11: mpv-mpris sends a year-only tag as 2024-01-01T00:00:00."""
    from trayrip.nowplaying.metadata import track_from_metadata

    def date(value):
        return track_from_metadata({"xesam:title": "x", "xesam:contentCreated": value}).date

    assert date("2024-01-01T00:00:00") == "2024" and date("2024-01-01T00:00:00Z") == "2024"
    assert date("2024-05-01T00:00:00") == "2024-05-01" and date("2024-01-01T20:15:00") == "2024-01-01"
    assert date("2024") == "2024" and date("2024-05") == "2024-05"
