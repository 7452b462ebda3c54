"""Where recordings go and how they get there (controller/filer threads).

A recording is captured into a hidden ``.part`` file inside its target
folder (same filesystem, so filing is a rename), cut to the trim range and
then linked to a free final name: an existing file is never overwritten.

:func:`file_recording` is the whole of filing: name from the template,
WAV cut in place (O(1): the stop -> filed time does not grow with the
recording) or encoded to FLAC/MP3/Ogg/Opus through a hidden ``.filing.part``
file, tags, optional split into tracks with an ``.m3u8`` playlist, and the
atomic, no-clobber claim of the final name. A lossy format that cannot be
encoded (no ffmpeg, ffmpeg failing) leaves the recording as WAV, never lost.
"""
from __future__ import annotations

import datetime as _dt
import errno
import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import FilingError, FolderNotWritable
from .naming import DEFAULT_TEMPLATE, NameFields, contained_path, render, sanitize_component, uses_counter
from ..recording.silence import SilenceSettings
from ..wav.edit import IN_PLACE_MAX_LEAD, cut_in_place
from ..wav.fileio import NEW_DIR_MODE, NEW_FILE_MODE

if TYPE_CHECKING:  # encode imports numpy; filing's callers pay for it only when they encode
    from ..recording.loudness import Loudness, LoudnessMeter
    from .encoders import OutputFormat
    from .sources import PcmSource
    from .tags import Tags
    from ..wav.layout import WavLayout

__all__ = [
    "PART_PREFIX",
    "PART_SUFFIX",
    "default_folder",
    "prepare_folder",
    "new_part_path",
    "timestamp_stem",
    "place_exclusive",
    "claim_name",
    "FiledRecording",
    "FilingPlan",
    "finish_wav",
    "file_recording",
    "file_tracks",
    "exclusive_temp",
    "FILING_SUFFIX",
    "NamedTrack",
    "file_named_tracks",
]

log = logging.getLogger(__name__)

PART_PREFIX = ".trayrip-"
PART_SUFFIX = ".wav.part"
FILING_SUFFIX = ".filing.part"  # encoder output before it gets its name (never matches PART_SUFFIX)


def default_folder() -> Path:
    """The user's Music folder (XDG user dirs / platform default) + ``playlists``."""
    import platformdirs

    return Path(platformdirs.user_music_dir()) / "playlists"


def prepare_folder(folder: Path) -> Path:
    """Create ``folder`` if needed and check that it takes new files."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(mode=NEW_DIR_MODE, parents=True, exist_ok=True)
    except FileExistsError:
        raise FilingError(f"{folder} exists and is not a folder") from None
    except OSError as exc:
        raise FilingError(f"cannot create the folder {folder}: {exc.strerror}") from None
    if not folder.is_dir():
        raise FilingError(f"{folder} is not a folder")
    if _read_only(folder):
        raise FolderNotWritable(folder, "the file system is read-only")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FolderNotWritable(folder, "permission denied")
    return folder


def _read_only(folder: Path) -> bool:
    """True on a read-only mount (os.access only says "no", and root is told "yes")."""
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (AttributeError, OSError):  # no statvfs on Windows
        return False


def timestamp_stem(when: _dt.datetime | None = None) -> str:
    """File name stem from date and time, valid on every OS."""
    return (when or _dt.datetime.now()).strftime("%Y-%m-%d %H-%M-%S")


def new_part_path(folder: Path, when: _dt.datetime | None = None) -> Path:
    """A fresh hidden capture file name in ``folder`` (not yet created)."""
    stamp = (when or _dt.datetime.now()).strftime("%Y%m%d-%H%M%S-%f")
    return folder / f"{PART_PREFIX}{stamp}-{os.getpid()}{PART_SUFFIX}"


def _candidates(folder: Path, stem: str, suffix: str):
    yield folder / f"{stem}{suffix}"
    for n in range(2, 100000):
        yield folder / f"{stem} ({n}){suffix}"


def claim_name(src: Path, target: Path) -> bool:
    """Move ``src`` to ``target`` atomically unless ``target`` exists (then False).

    A hard link claims the name atomically; where links are not supported
    the name is reserved with O_EXCL and then replaced.
    """
    try:
        os.link(src, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise FilingError(f"cannot file {target.name} in {target.parent}: {exc.strerror}") from None
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE))
        except FileExistsError:
            return False
        os.replace(src, target)
        return True
    os.unlink(src)
    return True


def place_exclusive(src: Path, folder: Path, stem: str, suffix: str) -> Path:
    """Move ``src`` to ``folder/stem+suffix`` (or ``stem (2)`` …) without overwriting."""
    for candidate in _candidates(Path(folder), stem, suffix):
        if claim_name(src, candidate):
            return candidate
    raise FilingError(f"no free file name for {stem}{suffix} in {folder}")


@dataclass(frozen=True)
class FiledRecording:
    """A finished recording. For a split recording ``path`` is its folder."""

    path: Path
    frames: int
    rate: int
    trimmed: bool
    format: str = "wav"
    tracks: tuple[Path, ...] = ()
    playlist: Path | None = None
    note: str | None = None  # something the user should hear about (e.g. kept as WAV: no ffmpeg)
    silent: str | None = None  # why it holds no sound (digital silence / nothing above the threshold), else None
    left_out: str | None = None  # with --tracks: what was not filed (ads, duplicates), e.g. "left out: 2 ads"

    @property
    def duration(self) -> float:
        return self.frames / self.rate

    @property
    def paths(self) -> tuple[Path, ...]:
        """The audio files made: the tracks of a split recording, else just ``path``."""
        return self.tracks or (self.path,)


@dataclass(frozen=True)
class FilingPlan:
    """How the user wants a recording filed (from RecordingOptions or the CLI)."""

    format: str = "wav"
    template: str = DEFAULT_TEMPLATE
    title: str | None = None
    split: bool = False
    min_track: float = 30.0
    trim: bool = True
    bits: int | None = None  # output bit depth for lossless formats (None: as captured)
    rate: int | None = None  # output sample rate (None: as captured; a change needs ffmpeg)
    album: str | None = None  # None: "trayrip <date>", or the recording's name when split
    silence: SilenceSettings = field(default_factory=SilenceSettings)
    track_template: str = "{track:02} {artist} - {title}"  # names of tracks named by the player (--tracks)
    replaygain: bool = True  # loudness tags: track gain, and album gain over split tracks
    normalize: str | None = None  # "track" / "album": apply the gain when encoding (peak kept <= -1 dBFS)


@dataclass(frozen=True)
class NamedTrack:
    """A track the player named: its name fields, tags and whether it was only partly recorded."""

    fields: NameFields
    tags: Tags
    partial: bool = False


def exclusive_temp(folder: Path, suffix: str) -> Path:
    """Create a new, empty, hidden file in ``folder`` for output still being written."""
    for _ in range(100):
        path = Path(folder) / f"{PART_PREFIX}{secrets.token_hex(6)}{suffix}{FILING_SUFFIX}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), NEW_FILE_MODE))
        except FileExistsError:
            continue
        except OSError as exc:
            raise FilingError(f"cannot create a file in {folder}: {exc.strerror}") from None
        return path
    raise FilingError(f"cannot create a temporary file in {folder}")


def _cut_wav(part: Path, keep: tuple[int, int] | None) -> WavLayout:
    """Cut ``part`` to ``keep`` frames: O(1) in place, or a kernel copy when the lead is large."""
    from ..wav.copy import copy_wav_range
    from ..wav.reader import WavSource

    with WavSource(part) as src:
        layout, total = src.layout, src.frames
        start, end = keep if keep is not None else (0, total)
        bpf = layout.fmt.bytes_per_frame
        if start * bpf > IN_PLACE_MAX_LEAD:
            copied = exclusive_temp(part.parent, ".wav")
            try:
                layout = copy_wav_range(src, start, end, copied)
            except BaseException:
                copied.unlink(missing_ok=True)
                raise
    if start * bpf > IN_PLACE_MAX_LEAD:
        os.replace(copied, part)
    elif (start, end) != (0, total):
        layout = cut_in_place(part, start, end)
    return layout


def finish_wav(
    part: Path,
    keep: tuple[int, int] | None,
    *,
    folder: Path | None = None,
    stem: str | None = None,
    output: Path | None = None,
) -> FiledRecording:
    """Cut a closed capture file to ``keep`` frames and give it its final name.

    With ``output`` the file goes exactly there (refusing to overwrite);
    otherwise into ``folder`` under ``stem`` (plus a counter if taken).
    """
    layout = _cut_wav(part, keep)
    frames = layout.data_size // layout.fmt.bytes_per_frame
    final = _claim_output(part, output) if output is not None else place_exclusive(
        part, Path(folder or part.parent), stem or timestamp_stem(), ".wav"
    )
    log.info("filed %s (%.2f s)", final, frames / layout.fmt.rate)
    return FiledRecording(final, frames, layout.fmt.rate, keep is not None)


def _claim_output(src: Path, output: Path) -> Path:
    final = Path(output)
    if not claim_name(src, final):
        raise FilingError(f"{final} already exists; not overwriting it (the recording is kept as {src})")
    return final


# -- names from templates ----------------------------------------------------------
_OUTPUT_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m3u8")


def _stem_taken(folder: Path, stem: str) -> bool:
    """Whether a recording (file of any output type, or a track folder) already uses ``stem``.

    Only a hint for {counter} templates, so that number 3 means one thing;
    the claim itself is what keeps files from being overwritten.
    """
    return any((folder / (stem + suffix)).exists() for suffix in ("", *_OUTPUT_SUFFIXES))


def _claim_templated(src: Path, root: Path, template: str, fields: NameFields, suffix: str) -> Path:
    """Give ``src`` the first free name the template yields inside ``root`` (folders made as needed)."""
    counted = uses_counter(template)
    for n in range(1, 100000):
        parts = render(template, fields, counter=n)
        folder = contained_path(root, parts[:-1]) if len(parts) > 1 else Path(root)
        folder.mkdir(mode=NEW_DIR_MODE, parents=True, exist_ok=True)
        if not counted:
            contained_path(root, [*parts[:-1], parts[-1] + suffix])
            return place_exclusive(src, folder, parts[-1], suffix)
        target = contained_path(root, [*parts[:-1], parts[-1] + suffix])
        if not _stem_taken(folder, parts[-1]) and claim_name(src, target):
            return target
    raise FilingError(f"no free file name for the template {template!r} in {root}")


def _claim_folder(root: Path, template: str, fields: NameFields) -> tuple[Path, str]:
    """Create a new folder named by the template (never an existing one); returns it and its base name."""
    counted = uses_counter(template)
    for n in range(1, 100000):
        parts = render(template, fields, counter=n)
        parent = contained_path(root, parts[:-1]) if len(parts) > 1 else Path(root)
        parent.mkdir(mode=NEW_DIR_MODE, parents=True, exist_ok=True)
        names = [parts[-1]] if counted else (parts[-1] if k == 1 else f"{parts[-1]} ({k})" for k in range(1, 100000))
        for name in names:
            folder = contained_path(root, [*parts[:-1], name])
            if counted and _stem_taken(parent, name):
                break
            try:
                folder.mkdir(mode=NEW_DIR_MODE)
            except FileExistsError:
                continue
            return folder, parts[-1]
        if not counted:
            break
    raise FilingError(f"no free folder name for the template {template!r} in {root}")


# -- the filer ---------------------------------------------------------------------
def _usable_format(plan: FilingPlan, output: Path | None) -> tuple[OutputFormat, str | None]:
    from .encoders import format_for_path, get_format, warn_if_unusable

    fmt = get_format(plan.format)
    if output is not None:
        fmt = format_for_path(output) or fmt
    problem = warn_if_unusable(fmt.name)  # usually said already, when the format was chosen
    if problem:
        return get_format("wav"), problem
    return fmt, None


def _base_tags(plan: FilingPlan, fields: NameFields, album: str | None) -> Tags:
    from .tags import Tags

    return Tags(
        title=plan.title or "",
        album=album or plan.album or f"trayrip {fields.when:%Y-%m-%d}",
        date=f"{fields.when:%Y-%m-%d}",
        comment=f"recorded from {fields.device}" if fields.device else "",
    )


def _tag_quietly(path: Path, fmt_name: str, tags: Tags) -> None:
    """Tags are worth having, never worth losing a recording over (e.g. on a full disk)."""
    from .tags import write_tags

    try:
        write_tags(path, fmt_name, tags)
    except (FilingError, OSError) as exc:
        log.warning("%s", exc)


def _replaygain(plan: FilingPlan, loudness: Loudness | None, applied: float = 0.0):
    """The ReplayGain of a recording filed as one file (measured while recording), or None."""
    if not plan.replaygain or loudness is None:
        return None
    from .replaygain import ReplayGain, after_gain

    return ReplayGain(after_gain(loudness, applied))


def _file_one(
    src: PcmSource, keep: tuple[int, int], plan: FilingPlan, fmt: OutputFormat, root: Path, output: Path | None,
    fields: NameFields, loudness: Loudness | None = None,
) -> tuple[Path, int]:
    """Encode frames ``keep`` of the capture into ``fmt`` and claim its name; returns (path, frames)."""
    from .encoders import encode
    from .replaygain import GainSource, normalize_gain

    folder = Path(output).parent if output is not None else root
    temp = exclusive_temp(folder, fmt.suffix)
    applied = normalize_gain(loudness) if plan.normalize and loudness is not None else 0.0
    if applied:
        log.info("normalizing by %+.2f dB", applied)
    try:
        encode(GainSource(src, applied) if applied else src, keep[0], keep[1], temp, fmt, bits=plan.bits,
               rate=plan.rate)
        stem = render(plan.template, fields)[-1] if output is None else Path(output).stem
        _tag_quietly(temp, fmt.name, replace(_base_tags(plan, fields, None), title=plan.title or stem,
                                             replaygain=_replaygain(plan, loudness, applied)))
        if output is not None:
            final = _claim_output(temp, output)
        else:
            final = _claim_templated(temp, root, plan.template, fields, fmt.suffix)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return final, keep[1] - keep[0]


def file_tracks(
    src: PcmSource,
    tracks: Sequence[tuple[int, int]],
    root: Path,
    plan: FilingPlan,
    fmt: OutputFormat,
    fields: NameFields,
    named: Sequence[NamedTrack] | None = None,
) -> tuple[Path, list[Path], Path, str | None]:
    """File each frame range of ``src`` as ``NN name.ext`` in a new folder named by the template.

    With ``named`` (one per range) the names come from ``plan.track_template``
    and the tags from the player, partial tracks marked "(partial)".
    Writes ``name.m3u8`` in play order. Returns (folder, tracks, playlist, note).
    If a lossy encode fails, that track and the rest are kept as WAV (the note says so).
    """
    folder, base = _claim_folder(root, plan.template, fields)
    made: list[Path] = []
    try:
        return _fill_folder(src, tracks, folder, base, plan, fmt, fields, made, named)
    except BaseException:
        # Half a set of tracks helps nobody: take them back, the caller still has the source.
        for path in made:
            path.unlink(missing_ok=True)
        for leftover in folder.glob(f"{PART_PREFIX}*{FILING_SUFFIX}"):
            leftover.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:
            pass
        raise


def _fill_folder(
    src: PcmSource, tracks: Sequence[tuple[int, int]], folder: Path, base: str, plan: FilingPlan, fmt: OutputFormat,
    fields: NameFields, made: list[Path], named: Sequence[NamedTrack] | None = None,
) -> tuple[Path, list[Path], Path, str | None]:
    from .encoders import EncodeError, encode, get_format
    from ..wav.reader import WavSource
    from .replaygain import GainSource, MeteredSource, ReplayGain
    from .split import playlist_text

    album = plan.album or plan.title or base
    width = max(2, len(str(len(tracks))))
    rate = src.format.rate
    paths: list[Path] = []
    entries = []
    note = None
    tags = _base_tags(plan, fields, album)
    tagged: list[tuple[Path, str, Tags, LoudnessMeter]] = []  # for the album gain, known once every track is measured
    gains = _normalize_gains(src, tracks, plan)  # dB per track (a measuring pass first, only when normalizing)
    for i, (start, end) in enumerate(tracks, 1):
        stem = sanitize_component(f"{i:0{width}d} {base}")
        one = named[i - 1] if named else None
        if one is not None:
            stem = render(plan.track_template, one.fields)[-1]
            stem = sanitize_component(f"{stem} (partial)") if one.partial else stem
        while True:
            temp = exclusive_temp(folder, fmt.suffix)
            # Measured in the pass that writes the track; a WAV track that is a kernel copy is read once for it.
            copies = fmt.name == "wav" and isinstance(src, WavSource) and plan.bits in (None, src.format.bits) \
                and plan.rate in (None, src.format.rate) and not gains[i - 1]
            source = GainSource(src, gains[i - 1]) if gains[i - 1] else src
            metered = MeteredSource(source) if plan.replaygain else None
            try:
                encode(source if copies else metered or source, start, end, temp, fmt, bits=plan.bits, rate=plan.rate)
                if copies and metered is not None:
                    metered.measure(start, end)
                break
            except EncodeError as exc:
                temp.unlink(missing_ok=True)
                if fmt.name == "wav":
                    raise
                note = f"{fmt.label} encoding failed ({exc}); the tracks from {i} on are kept as WAV"
                log.error("%s", note)
                fmt = get_format("wav")
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
        title = f"Track {i}"
        if one is not None:
            track_tags = replace(one.tags, date=one.tags.date or tags.date, comment=tags.comment)
            shown = f"{one.tags.artist} - {one.tags.title}" if one.tags.artist else one.tags.title
        else:
            track_tags = replace(tags, title=title, track=i, tracks=len(tracks))
            shown = f"{album} - {title}"
        if metered is not None:
            track_tags = replace(track_tags, replaygain=ReplayGain(metered.meter.result()))
        _tag_quietly(temp, fmt.name, track_tags)
        final = place_exclusive(temp, folder, stem, fmt.suffix)
        if metered is not None:
            tagged.append((final, fmt.name, track_tags, metered.meter))
        made.append(final)
        paths.append(final)
        entries.append((final.name, (end - start) / (plan.rate or rate), shown))
    temp = exclusive_temp(folder, ".m3u8")
    try:
        with open(temp, "w", encoding="utf-8", newline="\n") as f:
            f.write(playlist_text(entries))
            f.flush()
            os.fsync(f.fileno())
        playlist = place_exclusive(temp, folder, base, ".m3u8")
        made.append(playlist)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _tag_album(tagged)
    log.info("filed %d tracks in %s", len(paths), folder)
    return folder, paths, playlist, note


def _normalize_gains(src: PcmSource, tracks: Sequence[tuple[int, int]], plan: FilingPlan) -> list[float]:
    """The gain for each track when normalizing (by its own loudness, or the session's), else zeros.

    Tracks are written one after the other, so normalizing needs their loudness before the first is
    written: one read of the audio more, spent only when asked for.
    """
    if plan.normalize not in ("track", "album"):
        return [0.0] * len(tracks)
    from ..recording.loudness import LoudnessMeter
    from .replaygain import MeteredSource, normalize_gain

    meters = []
    for start, end in tracks:
        metered = MeteredSource(src)
        metered.measure(start, end)
        meters.append(metered.meter)
    if plan.normalize == "track":
        return [normalize_gain(m.result()) for m in meters]
    album = LoudnessMeter(src.format.rate, src.format.channels, src.format.sample_width)
    for m in meters:
        album.merge(m)
    return [normalize_gain(album.result())] * len(tracks)


def _tag_album(tagged: list[tuple[Path, str, Tags, LoudnessMeter]]) -> None:
    """Add ALBUM gain/peak (the tracks' gating blocks together) to every track of a session."""
    if not tagged:
        return
    from ..recording.loudness import LoudnessMeter
    from .replaygain import ReplayGain

    first = tagged[0][3]
    album = LoudnessMeter(first.rate, first.channels, first.sample_width)
    for *_, meter in tagged:
        album.merge(meter)
    whole = album.result()
    log.info("album loudness %s LUFS, peak %.6f", "-" if whole.lufs is None else f"{whole.lufs:.2f}", whole.peak)
    for path, fmt_name, tags, meter in tagged:
        _tag_quietly(path, fmt_name, replace(tags, replaygain=ReplayGain(meter.result(), whole)))


def file_named_tracks(
    part: Path,
    tracks: Sequence[tuple[Sequence[tuple[int, int]], NamedTrack]],
    *,
    plan: FilingPlan,
    folder: Path,
    fields: NameFields,
) -> FiledRecording:
    """File the tracks the player named (``--tracks``): each is a list of frame ranges of the capture
    (pauses cut out) and its name/tags; all go into one new folder named by ``plan.template``, with an
    ``.m3u8`` in play order. On success the capture file is gone.
    """
    from ..wav.reader import WavSource
    from .sources import SplicedSource

    fmt, note = _usable_format(plan, None)
    ranges = [r for rs, _ in tracks for r in rs]
    bounds, pos = [], 0
    for rs, _ in tracks:
        n = sum(e - s for s, e in rs)
        bounds.append((pos, pos + n))
        pos += n
    with WavSource(part) as wav:
        rate = wav.format.rate
        spliced = SplicedSource(wav, ranges)
        path, paths, playlist, enc_note = file_tracks(
            spliced, bounds, folder, plan, fmt, fields, named=[n for _, n in tracks]
        )
    part.unlink()
    return FiledRecording(path, pos, rate, True, paths[-1].suffix.lstrip("."), tuple(paths), playlist, note or enc_note)


def file_recording(
    part: Path,
    *,
    keep: tuple[int, int] | None,
    regions: Sequence[tuple[int, int]] = (),
    plan: FilingPlan | None = None,
    folder: Path | None = None,
    output: Path | None = None,
    when: _dt.datetime | None = None,
    device: str = "",
    loudness: Loudness | None = None,
) -> FiledRecording:
    """File a closed capture file (filer thread): trim/split, encode, tag, name, move.

    ``keep`` is the trim range (None: keep everything), ``regions`` the sound
    regions from the silence tracker (for ``plan.split``), ``loudness`` what the
    recorder measured (ReplayGain of a file filed whole). ``output`` files to
    exactly that path (its suffix picks the format); otherwise the template
    names the file inside ``folder`` (default: the capture file's folder).
    WAV without split is cut in place: O(1) whatever the length.
    On success the capture file is gone; on failure it is left for recovery.
    """
    from ..wav.reader import WavSource
    from .encoders import EncodeError, format_for_path, get_format
    from .split import plan_tracks

    plan = plan or FilingPlan()
    root = Path(folder or part.parent)
    when = when or _dt.datetime.now()
    fmt, note = _usable_format(plan, output)
    with WavSource(part) as probe:
        total, afmt = probe.frames, probe.format
    rate = afmt.rate
    if plan.split and output is None:
        tracks = plan_tracks(
            regions, total, rate, pad_before=plan.silence.pad_before, pad_after=plan.silence.pad_after,
            min_track=plan.min_track, trim=plan.trim,
        )
        if len(tracks) > 1:
            fields = NameFields(when, (tracks[-1][1] - tracks[0][0]) / rate, device, plan.title or "")
            try:
                with WavSource(part) as src:
                    path, paths, playlist, enc_note = file_tracks(src, tracks, root, plan, fmt, fields)
            except (FilingError, OSError) as exc:  # e.g. a full disk: one WAV, cut in place, still fits
                why = getattr(exc, "strerror", None) or exc
                note = f"splitting into tracks failed ({why}); the recording is kept as one WAV"
                log.error("%s", note)
                fmt = get_format("wav")
            else:
                part.unlink()
                frames = sum(e - s for s, e in tracks)
                return FiledRecording(
                    path, frames, rate, True, paths[-1].suffix.lstrip("."), tuple(paths), playlist, note or enc_note
                )
        else:
            if tracks and keep is not None:
                keep = tracks[0]
            log.info("one piece of sound only: filing it as one recording")
    span = keep or (0, total)
    fields = NameFields(when, (span[1] - span[0]) / rate, device, plan.title or "")
    wav_as_is = fmt.name == "wav" and plan.bits in (None, afmt.bits) and plan.rate in (None, rate) \
        and not (plan.normalize and loudness is not None)  # a gain means writing the samples anew
    if not wav_as_is:
        try:
            with WavSource(part) as src:
                final, frames = _file_one(src, span, plan, fmt, root, output, fields, loudness)
        except (EncodeError, OSError) as exc:
            if fmt.name == "wav" and not isinstance(exc, EncodeError):
                raise
            note = f"{fmt.label} encoding failed ({exc}); the recording is kept as WAV"
            log.error("%s", note)
        else:
            part.unlink()
            log.info("filed %s (%.2f s)", final, frames / (plan.rate or rate))
            return FiledRecording(final, frames, plan.rate or rate, keep is not None, fmt.name, note=note)
    # WAV: cut the capture file itself, tag it (O(1)), claim the name.
    layout = _cut_wav(part, keep)
    frames = layout.data_size // layout.fmt.bytes_per_frame
    if output is not None and (format_for_path(output) or fmt).name != "wav":
        output = Path(output).with_suffix(".wav")  # asked for a lossy file that could not be made
    stem = Path(output).stem if output is not None else render(plan.template, fields)[-1]
    _tag_quietly(part, "wav", replace(_base_tags(plan, fields, None), title=plan.title or stem,
                                      replaygain=_replaygain(plan, loudness)))
    final = _claim_output(part, output) if output is not None else _claim_templated(part, root, plan.template, fields, ".wav")
    log.info("filed %s (%.2f s)", final, frames / rate)
    return FiledRecording(final, frames, rate, keep is not None, "wav", note=note)
