"""``--tracks``: follow the media player while recording, then file one named, tagged file per track.

Glue between :mod:`trayrip.nowplaying` (what played, and where it changed)
and :mod:`trayrip.filing` (naming, encoding, tags, the playlist), which
must not know each other. Threads: :class:`TrackFollower` is started and
stopped on the caller's thread and runs the ``trayrip-nowplaying`` watcher;
:meth:`TrackFollower.file` runs on the filer thread.
"""
from __future__ import annotations

import datetime as _dt
import logging
import queue
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from .errors import FilingError
from .filing.finish import FiledRecording, FilingPlan, NamedTrack, file_named_tracks
from .filing.naming import DEFAULT_TEMPLATE, NameFields
from .filing.tags import Tags
from .nowplaying.boundary import BoundarySettings
from .nowplaying.metadata import PlayerEvent, TrackInfo
from .nowplaying.timeline import PlannedTrack, plan_player_tracks
from .nowplaying.watcher import PlayerWatcher
from .recording.recorder import RecordingResult

__all__ = ["TRACK_TEMPLATE", "TRACKS_FOLDER_TEMPLATE", "TrackFollower", "local_cover"]

log = logging.getLogger(__name__)

TRACK_TEMPLATE = "{track:02} {artist} - {title}"
TRACKS_FOLDER_TEMPLATE = "{date} {time} {album}"
_MAX_COVER = 16 * 1024 * 1024
_IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png", b"GIF8": "image/gif", b"RIFF": "image/webp"}


def _image(data: bytes) -> tuple[bytes, str]:
    for magic, mime in _IMAGE_TYPES.items():
        if data.startswith(magic):
            return data, mime
    return b"", ""


def _fetch(url: str) -> tuple[bytes, str]:
    """Remote art (only when the user turned it on): http(s) only, 5 s, at most 16 MiB, images only."""
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # noqa: S310 - scheme checked by the caller
            data = reply.read(_MAX_COVER + 1)
    except (OSError, ValueError) as exc:
        log.info("cover art %s not fetched: %s", url, exc)
        return b"", ""
    return _image(data) if len(data) <= _MAX_COVER else (b"", "")


def local_cover(url: str, remote: bool = False) -> tuple[bytes, str]:
    """The image behind an art URL, with its MIME type; (b"", "") when there is none.

    ``file://`` images are read; http(s) art is fetched only with ``remote``
    (off by default: nothing leaves the machine unless the user asked).
    """
    if not url:
        return b"", ""
    parsed = urlparse(url)
    if parsed.scheme in ("http", "https"):
        if remote:
            return _fetch(url)
        log.debug("cover art %s is not a local file; not fetched (remote art is off)", url)
        return b"", ""
    if parsed.scheme != "file":
        return b"", ""
    path = Path(unquote(parsed.path))
    try:
        if not path.is_file() or path.stat().st_size > _MAX_COVER:
            return b"", ""
        data = path.read_bytes()
    except OSError as exc:
        log.info("cover art %s unreadable: %s", path, exc)
        return b"", ""
    return _image(data)


def _named(
    track: PlannedTrack, number: int, rate: int, when: _dt.datetime, device: str, remote_art: bool
) -> NamedTrack:
    info: TrackInfo = track.info
    cover, mime = local_cover(info.art_url, remote_art)
    fields = NameFields(
        when, track.frames / rate, device, info.title, artist=info.artist, album=info.album,
        albumartist=info.albumartist, track=info.track or number, disc=info.disc, released=info.date,
    )
    tags = Tags(
        title=info.title, album=info.album, date=info.date, track=info.track or number, artist=info.artist,
        albumartist=info.albumartist, genre=info.genre, disc=info.disc, cover=cover, cover_mime=mime,
    )
    return NamedTrack(fields, tags, track.partial)


class TrackFollower:
    """One recording's player watcher and the events it gathered."""

    def __init__(self, app: str | None = None, remote_art: bool = False):
        self.remote_art = remote_art
        self.events: queue.Queue[PlayerEvent] = queue.Queue()
        self.watcher = PlayerWatcher(self.events, app=app)

    def start(self) -> None:
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()

    def _drain(self) -> list[PlayerEvent]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def file(
        self, result: RecordingResult, plan: FilingPlan, *, keep: tuple[int, int] | None, when: _dt.datetime | None,
        device: str, keep_partial: bool = True, skip_ads: bool = True, duplicates: str = "keep-both",
    ) -> FiledRecording | None:
        """File the tracks; None (after saying why, once) when the player named none: the caller falls back.

        Ads are left out with ``skip_ads``; tracks already in the folder tree are handled by ``duplicates``
        (see :mod:`trayrip.filing.duplicates`). ``FiledRecording.left_out`` says what was left out.
        """
        from .wav.pcm import to_float
        from .wav.reader import WavSource

        when = when or _dt.datetime.now()
        events = self._drain()
        rate = result.format.rate
        settings = BoundarySettings(threshold_db=plan.silence.threshold_db, pad_before=plan.silence.pad_before,
                                    pad_after=plan.silence.pad_after)
        fmt = result.format
        with WavSource(result.part) as wav:
            def read(start: int, frames: int):
                return to_float(wav.read(start, frames), fmt.sample_width, fmt.channels)

            span = keep if keep is not None else (0, result.frames)
            planned = plan_player_tracks(events, result.frame_at, result.frames, rate, read, span=span,
                                         settings=settings)
        fallback = "splitting at silences" if plan.split else "filing one recording"
        if planned.reason:
            log.warning("not splitting at track changes: %s%s; %s instead",
                        planned.reason, f" ({self.watcher.error})" if self.watcher.error else "", fallback)
            return None
        tracks = list(planned.tracks)
        if not keep_partial:
            dropped = [t for t in tracks if t.partial]
            tracks = [t for t in tracks if not t.partial]
            for t in dropped:
                log.info("not filing the partial track %r (%.1f s of %.1f s)", t.info.title, t.frames / rate,
                         t.info.length or 0)
            if not tracks:
                log.warning("every track was only partly recorded; %s instead", fallback)
                return None
        tracks, left_out, replaced = _leave_out(tracks, rate, result.part.parent, skip_ads, duplicates)
        if not tracks:
            log.warning("every track was left out (%s); %s instead", left_out, fallback)
            return None
        named = [(t.ranges, _named(t, i, rate, when, device, self.remote_art)) for i, t in enumerate(tracks, 1)]
        albums = {t.info.album for t in tracks}
        fields = NameFields(when, sum(t.frames for t in tracks) / rate, device, plan.title or "",
                            album=albums.pop() if len(albums) == 1 else "")
        template = plan.template if plan.template != DEFAULT_TEMPLATE else TRACKS_FOLDER_TEMPLATE
        try:
            filed = file_named_tracks(result.part, named, plan=replace(plan, template=template),
                                      folder=result.part.parent, fields=fields)
        except (FilingError, OSError) as exc:
            why = getattr(exc, "strerror", None) or exc
            log.error("filing the tracks failed (%s); %s instead", why, fallback)
            return None
        log.info("filed %d tracks from the player in %s", len(filed.tracks), filed.path)
        for old in replaced:  # keep-longer: the new, longer recording is filed; the shorter one goes
            try:
                old.path.unlink()
                log.info("removed %s (a shorter recording of the same track)", old.path)
            except OSError as exc:
                log.warning("could not remove the shorter copy %s: %s", old.path, exc)
        return replace(filed, left_out=left_out or None)


def _leave_out(tracks: list[PlannedTrack], rate: int, root: Path, skip_ads: bool, duplicates: str):
    """Drop ads and duplicates; returns (tracks to file, what was left out as text, copies to remove after)."""
    from .filing.duplicates import LibraryIndex, decide

    ads = [t for t in tracks if t.info.ad] if skip_ads else []
    for t in ads:
        log.info("leaving out an ad (%s, %.1f s)", t.info.ad, t.frames / rate)
    tracks = [t for t in tracks if not (skip_ads and t.info.ad)]
    kept, dupes, replaced = [], 0, []
    index = LibraryIndex.build(root) if duplicates != "keep-both" and tracks else None  # once per session
    for t in tracks:
        existing = index.find(t.info.artist, t.info.title) if index is not None and not t.info.ad else []
        file_it, remove = decide(duplicates, existing, t.frames / rate)
        if not file_it:
            dupes += 1
            log.info("leaving out %r by %r: already in %s", t.info.title, t.info.artist, existing[0].path)
            continue
        kept.append(t)
        replaced += remove
    said = [f"{len(ads)} ad{'s' if len(ads) != 1 else ''}"] if ads else []
    said += [f"{dupes} track{'s' if dupes != 1 else ''} already in the folder"] if dupes else []
    return kept, ("left out: " + ", ".join(said)) if said else "", replaced
