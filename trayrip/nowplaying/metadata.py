"""MPRIS metadata and player snapshots as plain values (any thread; pure).

The MPRIS spec (``org.mpris.MediaPlayer2.Player``) names the fields
``mpris:trackid``, ``mpris:length`` (microseconds), ``mpris:artUrl`` and the
``xesam:`` ones; players fill in what they know, often as lists.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

__all__ = ["TrackInfo", "PlayerEvent", "track_from_metadata"]


@dataclass(frozen=True)
class TrackInfo:
    """One track as the player describes it. Empty strings / None when unknown."""

    trackid: str = ""
    title: str = ""
    artist: str = ""
    album: str = ""
    albumartist: str = ""
    track: int | None = None
    disc: int | None = None
    date: str = ""
    genre: str = ""
    length: float | None = None  # seconds
    art_url: str = ""
    url: str = ""
    ad: str = ""  # why it is an advertisement (nowplaying/ads.py), "" when it is not

    @property
    def known(self) -> bool:
        """Whether there is enough to name a file (a title), or it is an ad (a track of its own, to leave out)."""
        return bool(self.title.strip()) or bool(self.ad)

    @property
    def loaded(self) -> bool:
        """Whether the player has anything loaded: a title, an artist, a URL or a length.

        MPRIS players with nothing loaded still send Metadata: mpv 0.40 with
        mpv-mpris 0.7 (Debian 13) sends only a trackid (``…/noplaylist``) at
        the end of the playlist; the spec's ``…/TrackList/NoTrack`` is the same idea.
        """
        return bool(self.title.strip() or self.artist.strip() or self.url or self.length)

    def same_track(self, other: TrackInfo | None) -> bool:
        """Whether ``other`` describes the same playlist entry (metadata updates are not a new track)."""
        if other is None:
            return False
        if self.trackid and other.trackid:
            return self.trackid == other.trackid and (self.url == other.url or not self.url or not other.url)
        return (self.url, self.title, self.artist) == (other.url, other.title, other.artist)


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value if str(v).strip())
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    m = re.match(r"\s*(\d+)", _text(value))
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def _date(value: Any) -> str:
    """``xesam:contentCreated`` is ISO 8601 (``2024-05-01T00:00:00``); keep the date part."""
    text = _text(value).strip()
    m = re.match(r"(\d{4}(?:-\d{2}(?:-\d{2})?)?)", text)
    return m.group(1) if m else ""


def track_from_metadata(md: Mapping[str, Any]) -> TrackInfo:
    """A :class:`TrackInfo` from an unwrapped MPRIS ``Metadata`` dict."""
    length = md.get("mpris:length")
    try:
        seconds = float(length) / 1e6 if length is not None and float(length) > 0 else None
    except (TypeError, ValueError):
        seconds = None
    from .ads import ad_reason

    trackid, url = _text(md.get("mpris:trackid")), _text(md.get("xesam:url")).strip()
    title, artist = _text(md.get("xesam:title")).strip(), _text(md.get("xesam:artist")).strip()
    ad = ad_reason(trackid, url, title, artist, seconds) or ""
    return TrackInfo(
        trackid=trackid,
        title=title or ("Advertisement" if ad else ""),
        artist=artist,
        album=_text(md.get("xesam:album")).strip(),
        albumartist=_text(md.get("xesam:albumArtist")).strip(),
        track=_int(md.get("xesam:trackNumber")),
        disc=_int(md.get("xesam:discNumber")),
        date=_date(md.get("xesam:contentCreated") or md.get("year") or md.get("xesam:date")),
        genre=_text(md.get("xesam:genre")).strip(),
        length=seconds,
        art_url=_text(md.get("mpris:artUrl")).strip(),
        url=url,
        ad=ad,
    )


@dataclass(frozen=True)
class PlayerEvent:
    """A snapshot of the followed player, taken when something changed.

    ``kind``: ``state`` (first look), ``track``, ``status``, ``seeked``,
    ``switch`` (another player took over), ``gone`` (the player left the bus),
    ``none`` (no player at all). ``arrival`` is ``time.monotonic()`` when the
    signal arrived; ``position`` (seconds into the track) was asked for at
    ``position_at`` (monotonic), when known.
    """

    kind: str
    arrival: float
    player: str = ""
    status: str = ""  # Playing, Paused, Stopped
    track: TrackInfo | None = None
    position: float | None = None
    position_at: float | None = None

    @property
    def playing(self) -> bool:
        return self.status == "Playing"
