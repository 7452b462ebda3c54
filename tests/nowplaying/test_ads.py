"""Which player items are ads (the documented rules) and how metadata carries it."""
from __future__ import annotations

import pytest

from trayrip.nowplaying.ads import ad_reason
from trayrip.nowplaying.metadata import track_from_metadata


@pytest.mark.parametrize("trackid, url, title, artist, length, is_ad", [
    ("spotify:ad:000000012c603a6600000020316a17a1", "", "", "", 30.0, True),
    ("/com/spotify/ad/1234", "", "Brand", "Brand", 30.0, True),
    ("/org/mpris/x/1", "https://open.spotify.com/ad/99", "Brand", "", 30.0, True),
    ("/org/mpris/x/1", "", "", "", 25.0, True),           # nothing said, short
    ("/org/mpris/x/1", "", "", "", None, False),           # a browser blanking between tracks
    ("/org/mpris/x/1", "", "", "", 200.0, False),          # blank but a song's length
    ("/org/mpris/x/1", "", "Advertisement", "", 30.0, True),
    ("/org/mpris/x/1", "", "Advertisement", "Band", 180.0, False),  # a song called that
    ("spotify:track:4uLU6hMCjMI75M1A2tKUQC", "", "Song", "Band", 30.0, False),
    ("/org/mpris/x/1", "file:///music/adagio.flac", "Adagio", "Albinoni", 30.0, False),
])
def test_rules(trackid, url, title, artist, length, is_ad):
    assert (ad_reason(trackid, url, title, artist, length) is not None) == is_ad


def test_metadata_marks_an_ad_as_a_track_of_its_own():
    info = track_from_metadata({"mpris:trackid": "spotify:ad:1", "mpris:length": 30_000_000})
    assert info.ad and info.known and info.title == "Advertisement"
    song = track_from_metadata({"mpris:trackid": "spotify:track:1", "xesam:title": "Song", "xesam:artist": ["Band"]})
    assert not song.ad and song.known
    blank = track_from_metadata({"mpris:trackid": "/x"})
    assert not blank.ad and not blank.known
