"""Trimming and splitting files made elsewhere (CLI main thread, or any one thread).

The detector is the live one: :class:`~trayrip.recording.silence.SilenceTracker` with
the same settings, fed windows aligned to frame 0 exactly as while recording.
WAV/RF64 (16/24-bit) is read with ``pread`` into one reused buffer, so
memory stays flat at any size (a memory map would count every page touched
as resident); other formats come through libsndfile in blocks.

Trimming reads only what it must: blocks from the start until the first
sound and blocks from the end (backwards) until the last sound. Because the
blocks are whole windows on the same grid, the result is identical to a full
pass (the tests compare both). Splitting needs every region, so it makes one
forward pass. The kept range of a WAV is then copied byte for byte (in the
kernel), or cut in place in O(1).
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..capture.base import AudioFormat
from ..wav.copy import copy_wav_range
from ..wav.reader import WavSource
from .encoders import encode, format_for_path, get_format
from .sources import SoundfileSource, open_source
from ..errors import FilingError, TrayripError
from .finish import FiledRecording, FilingPlan, claim_name, exclusive_temp, file_tracks, place_exclusive
from .naming import NameFields
from ..recording.silence import SilenceSettings, SilenceTracker, no_sound_text
from .split import plan_tracks
from ..wav.edit import IN_PLACE_MAX_LEAD, cut_in_place
from ..wav.fileio import NEW_DIR_MODE

__all__ = ["Analysis", "TrimResult", "analyse", "trim_file", "split_file", "split_plan"]

log = logging.getLogger(__name__)

SCAN_SECONDS = 0.5  # block size while looking for the first/last sound
PASS_SECONDS = 1.0  # block size of a full pass (bigger blocks fall out of the CPU caches)


@dataclass(frozen=True)
class Analysis:
    """Where the sound is in a file."""

    path: Path
    format: AudioFormat
    frames: int
    trim_range: tuple[int, int] | None  # None: nothing above the threshold
    regions: list[tuple[int, int]] | None  # None when only the ends were scanned
    scanned_frames: int  # how much audio was actually looked at
    peak_db: float = float("-inf")  # loudest 10 ms window seen (all of it when nothing is above the threshold)

    def no_sound(self, settings: SilenceSettings) -> str:
        """Why nothing is kept (when ``trim_range`` is None)."""
        return no_sound_text(self.peak_db, settings.threshold_db)

    def seconds(self, frame: int) -> float:
        return frame / self.format.rate


@dataclass(frozen=True)
class TrimResult:
    """What ``trim_file`` did with one file."""

    source: Path
    output: Path | None  # None: dry run, or nothing to keep
    analysis: Analysis
    in_place: bool = False


# -- reading samples ------------------------------------------------------------
class _FloatReader:
    """Reads blocks of a source as float32 (frames, channels), bit-exact with trayrip.wav.pcm.to_float.

    The output arrays are reused from block to block: fresh multi-megabyte
    arrays would cost a page fault per 4 KiB on every block.
    """

    def __init__(self, src):
        self.src = src
        self._ints = np.empty(0, dtype=np.int32)
        self._floats = np.empty(0, dtype=np.float32)

    def read(self, start: int, frames: int) -> np.ndarray:
        src = self.src
        if isinstance(src, SoundfileSource):
            return src.read_float(start, frames)
        fmt = src.format
        raw = src.read(start, frames)
        n = len(raw) // fmt.sample_width
        if self._floats.shape[0] < n:
            self._ints = np.empty(n, dtype=np.int32)
            self._floats = np.empty(n, dtype=np.float32)
        out = self._floats[:n]
        if fmt.sample_width == 2:
            np.copyto(out, np.frombuffer(raw, dtype="<i2", count=n), casting="unsafe")
            out *= np.float32(1.0 / 32768)
        else:
            # Each 24-bit sample loaded as the int32 at its own offset (stride 3); << 8 drops the
            # neighbour's byte and leaves sample * 256, exactly representable, scaled by 2**-31.
            # The source's buffer has one spare byte, so the last load stays inside it.
            wide = np.ndarray((n,), dtype="<i4", buffer=src._buf, offset=0, strides=(3,))
            ints = self._ints[:n]
            np.left_shift(wide, 8, out=ints)
            np.copyto(out, ints, casting="unsafe")
            out *= np.float32(1.0 / 2147483648)
        return out.reshape(-1, fmt.channels)


def _tracker(fmt: AudioFormat, settings: SilenceSettings) -> SilenceTracker:
    return SilenceTracker(fmt.rate, fmt.channels, fmt.sample_width, settings)


def _block_frames(window: int, rate: int, seconds: float) -> int:
    return max(1, round(seconds * rate / window)) * window


def _scan_ends(src, settings: SilenceSettings) -> tuple[tuple[int, int] | None, int, float]:
    """(first sound, end of last sound), frames scanned and the peak seen, looking only at the silent ends."""
    fmt, total = src.format, src.frames
    window = _tracker(fmt, settings).window_frames
    analysable = total // window * window  # a trailing partial window is never judged, as live
    block = _block_frames(window, fmt.rate, SCAN_SECONDS)
    reader = _FloatReader(src)
    scanned = 0
    first = None
    pos = 0
    peak = float("-inf")
    while pos < analysable:
        n = min(block, analysable - pos)
        t = _tracker(fmt, settings)
        t.feed_float(reader.read(pos, n))
        scanned += n
        peak = max(peak, t.peak_db)
        if t.has_sound:
            first = pos + t.first_sound
            break
        pos += n
    if first is None:
        return None, scanned, peak
    last = None
    end = analysable
    while end > first:
        begin = max(first // window * window, end - block)
        t = _tracker(fmt, settings)
        t.feed_float(reader.read(begin, end - begin))
        scanned += end - begin
        peak = max(peak, t.peak_db)
        if t.has_sound:
            last = begin + t.last_sound_end
            break
        end = begin
    assert last is not None  # the block holding ``first`` has sound
    return (first, last), scanned, peak


def _pad(settings: SilenceSettings, rate: int, total: int, first: int, last: int) -> tuple[int, int]:
    """The same pads as SilenceTracker.trim_range."""
    return max(0, first - round(settings.pad_before * rate)), min(total, last + round(settings.pad_after * rate))


def analyse(path: Path, settings: SilenceSettings | None = None, *, full: bool = False, source=None) -> Analysis:
    """Find the trim range (and with ``full`` the sound regions) of an audio file."""
    settings = settings or SilenceSettings()
    path = Path(path)
    src = source or open_source(path)
    try:
        fmt, total = src.format, src.frames
        if not full:
            found, scanned, peak = _scan_ends(src, settings)
            keep = _pad(settings, fmt.rate, total, *found) if found else None
            return Analysis(path, fmt, total, keep, None, scanned, peak)
        t = _tracker(fmt, settings)
        block = _block_frames(t.window_frames, fmt.rate, PASS_SECONDS)
        reader = _FloatReader(src)
        for pos in range(0, total, block):
            t.feed_float(reader.read(pos, min(block, total - pos)))
        return Analysis(path, fmt, total, t.trim_range(), t.regions, total, t.peak_db)
    finally:
        if source is None:
            src.close()


# -- trimming -------------------------------------------------------------------
def _output_format(src, output: Path | None):
    if output is not None:
        fmt = format_for_path(output)
        if fmt is None:
            raise TrayripError(f"{Path(output).name}: unknown output type; use .wav, .flac, .mp3, .ogg or .opus")
        return fmt
    if isinstance(src, WavSource):
        return get_format("wav")
    name = {"FLAC": "flac", "MPEG": "mp3", "MP3": "mp3", "WAV": "wav", "WAVEX": "wav", "RF64": "wav"}.get(src.container)
    if name == "wav":
        log.warning("%s holds %s samples; the trimmed WAV will be %d-bit PCM", src.path.name, src.subtype, src.format.bits)
    if src.container == "OGG":
        name = "opus" if src.subtype == "OPUS" else "ogg"
    if name is None:
        raise TrayripError(f"{src.path.name}: cannot write {src.container} files; give -o NAME.wav or NAME.flac")
    return get_format(name)


def _writable(fmt, instead: str):
    """``fmt`` if it can be written now; else a TrayripError saying that nothing was written."""
    from .encoders import check_format

    problem = check_format(fmt.name)
    if problem:
        problem = problem.replace(" Until then recordings are kept as WAV.", "")
        raise TrayripError(f"{problem} Nothing was written: {instead}.")
    return fmt


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_range(src, keep: tuple[int, int], folder: Path, fmt, *, sync: bool) -> Path:
    """The kept range of ``src`` in a new hidden file in ``folder`` (tags of the input carried over)."""
    from .tags import copy_tags, copy_wav_metadata

    temp = exclusive_temp(folder, fmt.suffix)
    try:
        if fmt.name == "wav" and isinstance(src, WavSource):
            copy_wav_range(src, keep[0], keep[1], temp, sync=False, preallocate=True)
            copy_wav_metadata(src.fd, temp)
        else:
            lossy_in = isinstance(src, SoundfileSource) and src.subtype in ("VORBIS", "OPUS", "MPEG_LAYER_III")
            if lossy_in and not fmt.lossless:
                log.warning("%s: re-encoding lossy audio loses a little quality (-o NAME.flac does not)", src.path.name)
            encode(src, keep[0], keep[1], temp, fmt)
            copy_tags(src.path, temp, fmt.name)
        if sync:
            _fsync_path(temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _trim_in_place(src, path: Path, keep: tuple[int, int], fmt) -> None:
    """Replace ``path`` by its kept range: O(1) for a plain WAV with a short lead, else copy + atomic replace."""
    bpf = src.format.bytes_per_frame
    simple = (
        isinstance(src, WavSource)
        and fmt.name == "wav"
        and keep[0] * bpf <= IN_PLACE_MAX_LEAD
        and src.layout.fmt_end == src.layout.data_offset - 8  # nothing between fmt and data to lose
        and os.fstat(src.fd).st_size <= src.layout.data_offset + src.layout.data_size + 1  # nothing after data
    )
    if simple:
        src.close()
        cut_in_place(path, keep[0], keep[1])
        return
    temp = _write_range(src, keep, path.parent, fmt, sync=True)
    try:
        shutil.copymode(path, temp)
    except OSError:
        pass
    src.close()
    os.replace(temp, path)


def _open_or_explain(path: Path):
    """``open_source`` with a one-line TrayripError naming the file."""
    try:
        return open_source(path)
    except (ValueError, OSError) as exc:
        raise TrayripError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None


def trim_file(
    path: Path,
    *,
    output: Path | None = None,
    out_dir: Path | None = None,
    in_place: bool = False,
    settings: SilenceSettings | None = None,
    dry_run: bool = False,
    replaygain: bool = True,
) -> TrimResult:
    """Trim leading and trailing silence off ``path``.

    The result goes to ``output`` (never overwritten), into ``out_dir`` under
    the same name, back into ``path`` (``in_place``), or by default beside
    the input as ``NAME (trimmed).ext``. The input is read, never changed,
    unless ``in_place``. With ``replaygain`` the kept audio is measured (one
    more read of it) and the result gets ReplayGain track tags.
    """
    path = Path(path)
    settings = settings or SilenceSettings()
    src = _open_or_explain(path)
    try:
        analysis = analyse(path, settings, source=src)
        keep = analysis.trim_range
        if dry_run or keep is None:
            return TrimResult(path, None, analysis)
        loudness = _measure(src, keep) if replaygain else None
        if in_place:
            fmt = _writable(_output_format(src, None), "give -o NAME.wav or NAME.flac instead of --in-place")
            if keep != (0, analysis.frames):
                _trim_in_place(src, path, keep, fmt)
            _tag_loudness(path, fmt.name, loudness)
            return TrimResult(path, path, analysis, in_place=True)
        if output is not None and out_dir is not None:
            raise ValueError("give either output or out_dir")
        fmt = _writable(_output_format(src, output), "give -o NAME.wav or NAME.flac")
        folder = Path(output).parent if output is not None else Path(out_dir) if out_dir is not None else path.parent
        if output is not None and Path(output).exists():
            raise FilingError(f"{output} already exists; not overwriting it")
        temp = _write_range(src, keep, folder, fmt, sync=False)
        _tag_loudness(temp, fmt.name, loudness)
        try:
            if output is not None:
                if not claim_name(temp, Path(output)):
                    raise FilingError(f"{output} already exists; not overwriting it")
                final = Path(output)
            else:
                stem = path.stem if out_dir is not None else f"{path.stem} (trimmed)"
                final = place_exclusive(temp, folder, stem, fmt.suffix)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return TrimResult(path, final, analysis)
    finally:
        src.close()


def _measure(src, keep: tuple[int, int]):
    from .replaygain import measure_range

    return measure_range(src, keep[0], keep[1])


def _tag_loudness(path: Path, fmt_name: str, loudness) -> None:
    """ReplayGain tags on a trimmed file; a file that cannot take them is still a good trim (logged)."""
    if loudness is None or loudness.lufs is None:
        return
    from .replaygain import ReplayGain
    from .tags import write_replaygain

    try:
        write_replaygain(path, fmt_name, ReplayGain(loudness))
    except FilingError as exc:
        log.warning("%s", exc)


# -- splitting ------------------------------------------------------------------
def split_plan(analysis: Analysis, settings: SilenceSettings, min_track: float, trim: bool = True) -> list[tuple[int, int]]:
    """Track ranges for an analysed file (see split.plan_tracks)."""
    return plan_tracks(
        analysis.regions or [], analysis.frames, analysis.format.rate,
        pad_before=settings.pad_before, pad_after=settings.pad_after, min_track=min_track, trim=trim,
    )


def split_file(
    path: Path,
    *,
    out_dir: Path | None = None,
    format: str | None = None,
    settings: SilenceSettings | None = None,
    min_track: float = 30.0,
    trim: bool = True,
    dry_run: bool = False,
    replaygain: bool = True,
) -> tuple[Analysis, list[tuple[int, int]], FiledRecording | None]:
    """Split ``path`` at silences of at least ``settings.region_gap`` into ``NN name`` files.

    The tracks go into a new folder named after the file (in ``out_dir``,
    default: beside the file) with an ``.m3u8`` playlist. ``format`` defaults
    to the input's own (WAV tracks are byte copies).
    """
    path = Path(path)
    settings = settings or SilenceSettings()
    src = _open_or_explain(path)
    try:
        analysis = analyse(path, settings, full=True, source=src)
        if analysis.trim_range is None:  # as trim says: a silent file has no tracks
            raise TrayripError(f"{path}: {analysis.no_sound(settings)}; nothing written")
        tracks = split_plan(analysis, settings, min_track, trim)
        if dry_run:
            return analysis, tracks, None
        fmt = get_format(format) if format else _output_format(src, None)
        from .encoders import check_format

        problem = check_format(fmt.name)
        if problem:
            raise TrayripError(problem.replace("Until then recordings are kept as WAV.", "Or choose --format wav/flac."))
        import datetime as dt

        when = dt.datetime.fromtimestamp(path.stat().st_mtime)
        plan = FilingPlan(
            format=fmt.name, template="{title}", title=path.stem, split=True, min_track=min_track, trim=trim,
            silence=settings, replaygain=replaygain,
        )
        root = Path(out_dir) if out_dir is not None else path.parent
        root.mkdir(mode=NEW_DIR_MODE, parents=True, exist_ok=True)
        fields = NameFields(when, sum(e - s for s, e in tracks) / analysis.format.rate, "", path.stem)
        folder, paths, playlist, note = file_tracks(src, tracks, root, plan, fmt, fields)
        frames = sum(e - s for s, e in tracks)
        filed = FiledRecording(folder, frames, analysis.format.rate, trim, fmt.name, tuple(paths), playlist, note)
        return analysis, tracks, filed
    finally:
        src.close()
