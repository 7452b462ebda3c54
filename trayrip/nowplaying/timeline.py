"""Player events + the recorder's clock + the audio → the frame ranges of each track (filer thread; pure).

The events say *that* something changed and roughly when (``time.monotonic()``
at arrival, mapped to frames by the recorder's clock map); the audio says
*where*: a track change is cut by :func:`~.boundary.find_cut`, a pause is cut
out from the start of its silence to the first sound after it, and the track
goes on in the same file. A track whose recorded length falls more than
``partial_slack`` seconds short of the player's ``mpris:length`` is partial
(joined mid-way or left early).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .boundary import BoundarySettings, find_cut, silent_runs
from .metadata import PlayerEvent, TrackInfo

__all__ = ["PlannedTrack", "TrackPlan", "plan_player_tracks"]

log = logging.getLogger(__name__)

Reader = Callable[[int, int], np.ndarray]  # (start frame, frames) -> float (frames × channels)

_RESTART_WITHIN = 1.0  # s: a seek to this near the start of the same track…
_RESTART_AFTER = 3.0  # s: …after this much of it was recorded, is playing it again


@dataclass
class PlannedTrack:
    info: TrackInfo
    ranges: list[tuple[int, int]] = field(default_factory=list)
    partial: bool = False
    cuts: list[str] = field(default_factory=list)  # how each end was found (silence/change/signal/pause)

    @property
    def frames(self) -> int:
        return sum(e - s for s, e in self.ranges)


@dataclass(frozen=True)
class TrackPlan:
    """Tracks in play order, or none and ``reason`` (then the caller falls back)."""

    tracks: tuple[PlannedTrack, ...]
    reason: str | None = None


class _Planner:
    def __init__(self, frame_at, total, rate, read, span, settings, partial_slack):
        self.frame_at, self.total, self.rate, self.read = frame_at, total, rate, read
        self.span = span
        self.s = settings
        self.slack = partial_slack
        self.tracks: list[PlannedTrack] = []
        self.info: TrackInfo | None = None  # what the player says is current
        self.open: int | None = None  # start frame of the range being recorded
        self.paused_track: PlannedTrack | None = None  # the track a pause interrupted

    # -- audio around a frame ---------------------------------------------
    def _around(self, f: int, before: float, after: float) -> tuple[np.ndarray, int]:
        lo = max(0, f - round(before * self.rate))
        hi = min(self.total, f + round(after * self.rate))
        return (self.read(lo, hi - lo) if hi > lo else np.zeros((0, 1), np.float32)), lo

    def _silence_near(self, f: int) -> tuple[int, int] | None:
        audio, lo = self._around(f, self.s.before, self.s.after)
        runs = silent_runs(audio, self.rate, self.s.threshold_db, self.s.window, self.s.min_silence)
        if not runs:
            return None
        local = f - lo
        a, b = min(runs, key=lambda r: 0 if r[0] <= local <= r[1] else min(abs(r[0] - local), abs(r[1] - local)))
        return a + lo, b + lo

    # -- events -----------------------------------------------------------
    def _close(self, end: int, how: str) -> None:
        if self.open is None:
            return
        track = self.tracks[-1]
        end = max(self.open, min(end, self.total))
        if end > self.open:
            track.ranges.append((self.open, end))
            track.cuts.append(how)
        self.open = None

    def _begin(self, info: TrackInfo, start: int) -> None:
        if self.paused_track is not None and self.paused_track.info.same_track(info):
            self.paused_track.info = info  # resumed: the same file goes on
            if self.tracks[-1] is not self.paused_track:
                self.tracks.append(self.paused_track)
        else:
            self.tracks.append(PlannedTrack(info))
        self.paused_track = None
        self.open = max(0, min(start, self.total))

    def event(self, e: PlayerEvent) -> None:
        f = self.frame_at(e.arrival)
        if e.kind in ("none", "gone"):
            if self.open is not None:
                run = self._silence_near(f)
                self._close(run[0] + round(self.s.pad_after * self.rate) if run else f, "gone")
            self.info = None
            self.paused_track = None
            return
        # A player that blanks its metadata for a moment (browsers do between tracks) is still on the same track.
        track = e.track if e.track is not None and e.track.known else self.info
        if track is None:
            return
        new = not track.same_track(self.info)
        restarted = (
            e.kind == "seeked" and e.position is not None and e.position < _RESTART_WITHIN and self.open is not None
            and f - self.open > _RESTART_AFTER * self.rate
        )
        if restarted:  # "previous" pressed late in a track plays it again: a new file, the first one is kept
            new = True
        if self.open is not None and new and e.playing:
            current = self.tracks[-1]
            if not restarted and (not current.info.known or (current.frames == 0 and f - self.open < self.rate)):
                current.info = track  # the player only now said what the first track is
                self.info = track
                return
            expected = None
            if e.position is not None and e.position_at is not None and abs(e.position) < 3.0:
                expected = self.frame_at(e.position_at - e.position)
            audio, lo = self._around(f, self.s.before + self.s.context + 0.1, self.s.after + self.s.context + 0.1)
            cut = find_cut(audio, self.rate, f - lo, expected=None if expected is None else expected - lo,
                           settings=self.s)
            log.info("track change at %.2f s (signal at %.2f s, %s)", (cut.start + lo) / self.rate, f / self.rate, cut.kind)
            self._close(cut.end + lo, cut.kind)
            self.info = track
            if restarted:
                self.paused_track = None
            self._begin(track, cut.start + lo)
            self.tracks[-1].cuts.append(cut.kind)
            return
        if self.open is not None and not e.playing:  # pause or stop: cut out the silence that follows
            run = self._silence_near(f)
            self._close(run[0] if run else f, "pause")
            self.paused_track = self.tracks[-1] if not new else None
            self.info = track
            return
        if not new:
            self.info = track
            if self.tracks and self.open is not None:
                self.tracks[-1].info = track  # more complete metadata for the same track
        if self.open is None and e.playing:
            if self.paused_track is not None and not self.paused_track.info.same_track(track):
                self.paused_track = None  # another track after the pause: a fresh start with its lead-in
            self.info = track
            if not self.tracks and f <= self.span[0] + self.rate:
                start = self.span[0]  # already playing when the recording started
            else:
                run = self._silence_near(f)
                start = max(run[1] - round(self.s.pad_before * self.rate), 0) if run else f
                if self.paused_track is not None and run:
                    start = run[1]  # resuming the same track: no lead-in, the pause is simply cut out
            self._begin(track, start)
        elif self.open is None:
            self.info = track

    def _keep_last_tail(self) -> None:
        """The last track, ended by the player stopping or leaving, keeps the rest of its sound and its pad.

        The player's signal may come before its last audio reached the capture
        (the file would end at full level) or in the middle of a fade; nothing
        follows the last track, so its end is where its sound ends, plus the pad.
        """
        track = self.tracks[-1] if self.tracks else None
        if track is None or not track.ranges or track.cuts[-1:] not in (["pause"], ["gone"]) or self.open is not None:
            return
        start, end = track.ranges[-1]
        limit = self.span[1]
        lo = max(start, end - round((self.s.pad_after + self.s.window) * self.rate))
        if limit <= end:
            return
        runs = silent_runs(self.read(lo, limit - lo), self.rate, self.s.threshold_db, self.s.window,
                           self.s.min_silence)
        sound_end = lo + runs[0][0] if runs else limit
        new_end = min(limit, sound_end + round(self.s.pad_after * self.rate))
        if new_end > end:
            track.ranges[-1] = (start, new_end)

    def finish(self) -> list[PlannedTrack]:
        self._keep_last_tail()
        self._close(self.span[1], "end")
        out = []
        for t in self.tracks:
            if any(t is o for o in out) or t.frames < round(0.5 * self.rate):
                continue
            if t.info.length and t.frames / self.rate < t.info.length - self.slack:
                t.partial = True
            out.append(t)
        return out


def plan_player_tracks(
    events: Sequence[PlayerEvent],
    frame_at: Callable[[float], int],
    total: int,
    rate: int,
    read: Reader,
    *,
    span: tuple[int, int] | None = None,
    settings: BoundarySettings | None = None,
    partial_slack: float = 2.0,
) -> TrackPlan:
    """The tracks of a recording from the player's events (in arrival order).

    ``frame_at`` maps a ``time.monotonic()`` value to a frame of the capture,
    ``read`` gives float audio, ``span`` is the trim range (first sound − pad
    … last sound + pad), used for the first and last track's outer ends.
    """
    if not events or all(e.track is None or not e.track.known for e in events):
        players = any(e.player for e in events)
        reason = "the media player gave no track titles" if players else "no media player (MPRIS) on the session bus"
        return TrackPlan((), reason)
    planner = _Planner(frame_at, total, rate, read, span or (0, total), settings or BoundarySettings(), partial_slack)
    for e in sorted(events, key=lambda e: e.arrival):
        planner.event(e)
    tracks = planner.finish()
    if not tracks:
        return TrackPlan((), "the media player played nothing while recording")
    return TrackPlan(tuple(tracks))
