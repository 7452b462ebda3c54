"""Which player items are advertisements (any thread; pure).

The rules, in order (the first that matches names the reason):

1. ``mpris:trackid`` or ``xesam:url`` names an ad: it contains ``/ad/`` or
   starts with ``spotify:ad:`` (Spotify's desktop client marks its ads so).
2. Neither a title nor an artist, and a known length of at most
   :data:`MAX_AD_SECONDS` (ads of players that say nothing about them).
   A blank item of unknown length is not an ad: browsers blank their
   metadata for a moment between tracks.
3. The title is "Advertisement" (or "Spotify", "Ad") and there is no artist.
"""
from __future__ import annotations

__all__ = ["MAX_AD_SECONDS", "ad_reason"]

MAX_AD_SECONDS = 40.0
_AD_TITLES = {"advertisement", "spotify", "ad"}


def _marks_ad(text: str) -> bool:
    text = text.strip().lower()
    return "/ad/" in text or text.startswith("spotify:ad:")


def ad_reason(trackid: str, url: str, title: str, artist: str, length: float | None) -> str | None:
    """Why this item is an advertisement, or None when it is not one."""
    if _marks_ad(trackid) or _marks_ad(url):
        return "the player marks it as an ad"
    if not title.strip() and not artist.strip() and length is not None and 0 < length <= MAX_AD_SECONDS:
        return f"no title or artist, {length:.0f} s long"
    if title.strip().lower() in _AD_TITLES and not artist.strip():
        return f"titled {title.strip()!r} with no artist"
    return None
