"""Sound regions → tracks, and the ``.m3u8`` playlist (filer thread; pure, no I/O but the playlist text).

The regions come from the streaming :class:`~trayrip.recording.silence.SilenceTracker`
(sound separated by silences of at least ``region_gap`` seconds), so a WAV
recording is split without reading it again.
"""
from __future__ import annotations

from typing import Sequence

__all__ = ["plan_tracks", "merge_short", "playlist_text"]


def merge_short(regions: Sequence[tuple[int, int]], min_frames: int) -> list[tuple[int, int]]:
    """Merge pieces of sound shorter than ``min_frames`` into a neighbour.

    The shortest piece goes first, into the neighbour across the shorter
    silence (the earlier one on a tie), until every piece is long enough or
    only one is left. A merged piece spans the silence between its parts.
    """
    pieces = [(int(s), int(e)) for s, e in regions if e > s]
    while len(pieces) > 1:
        lengths = [e - s for s, e in pieces]
        i = min(range(len(pieces)), key=lengths.__getitem__)
        if lengths[i] >= min_frames:
            break
        gap_prev = pieces[i][0] - pieces[i - 1][1] if i > 0 else None
        gap_next = pieces[i + 1][0] - pieces[i][1] if i + 1 < len(pieces) else None
        j = i - 1 if gap_next is None or (gap_prev is not None and gap_prev <= gap_next) else i + 1
        a, b = min(i, j), max(i, j)
        pieces[a : b + 1] = [(pieces[a][0], pieces[b][1])]
    return pieces


def plan_tracks(
    regions: Sequence[tuple[int, int]],
    total: int,
    rate: int,
    *,
    pad_before: float,
    pad_after: float,
    min_track: float,
    trim: bool = True,
) -> list[tuple[int, int]]:
    """Frame ranges [start, end) of the tracks to file, in play order.

    Each track is its sound plus the pads; the silence between tracks is
    dropped (a track never reaches past the middle of a silence). With
    ``trim`` off the first track starts at 0 and the last ends at ``total``.
    No sound at all gives one track: the whole recording.
    """
    pieces = merge_short(regions, max(0, round(min_track * rate)))
    if not pieces:
        return [(0, total)] if total > 0 else []
    before, after = round(pad_before * rate), round(pad_after * rate)
    tracks = []
    for k, (s, e) in enumerate(pieces):
        start = max(0, s - before) if (trim or k) else 0
        end = min(total, e + after) if (trim or k + 1 < len(pieces)) else total
        if k:
            mid = (pieces[k - 1][1] + s) // 2
            start = max(start, mid)
        if k + 1 < len(pieces):
            mid = (e + pieces[k + 1][0]) // 2
            end = min(end, mid)
        if end > start:
            tracks.append((start, end))
    return tracks


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def playlist_text(entries: Sequence[tuple[str, float, str]]) -> str:
    """Extended M3U (UTF-8) for (file name relative to the playlist, seconds, title) in play order."""
    lines = ["#EXTM3U"]
    for name, seconds, title in entries:
        lines.append(f"#EXTINF:{max(0, round(seconds))},{_one_line(title)}")
        lines.append(f"./{name}" if name.startswith("#") else name)
    return "\n".join(lines) + "\n"
