"""Output formats and encoders (filer thread, or the CLI's main thread offline).

* WAV: the kept byte range is copied as is (``os.copy_file_range``: the
  kernel copies, nothing passes through Python); the header turns into RF64
  past 4 GiB. Only a change of bit depth goes through libsndfile.
* FLAC: libsndfile (soundfile) encodes block by block, 16 or 24 bit.
* MP3, Ogg Vorbis, Opus: raw PCM is streamed into ``ffmpeg``'s stdin in
  blocks (an argument list, never a shell), so memory stays flat however
  long the recording. pydub is imported here and only here, to find the
  ffmpeg that pydub is configured to use (``AudioSegment.converter``, which
  an installer may point at a bundled binary). pydub's own
  ``AudioSegment.export`` is not used for recordings: it holds the whole
  recording in memory (a 60-minute 96 kHz/24-bit capture is 2 GB, and
  pydub makes copies of it), which is exactly what the issue forbids.

A lossy format without ffmpeg is reported by :func:`check_format` when the
format is chosen; filing then keeps the recording as WAV (see filing.py).
"""
from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import FilingError
from ..wav.copy import copy_wav_range
from ..wav.format import AudioFormat
from ..wav.layout import MAX_RIFF
from .bundled_ffmpeg import bundled_ffmpeg
from .sources import PcmSource, WavSource

__all__ = [
    "OutputFormat",
    "FORMATS",
    "EncodeError",
    "get_format",
    "format_for_path",
    "ffmpeg_path",
    "check_format",
    "warn_if_unusable",
    "encode",
]

log = logging.getLogger(__name__)

BLOCK_SECONDS = 1.0
_FFMPEG_TIMEOUT = 300.0  # after the last block: ffmpeg only has to flush


class EncodeError(FilingError):
    """Encoding failed (ffmpeg missing or crashed, libsndfile error)."""


@dataclass(frozen=True)
class OutputFormat:
    """One entry of the format table."""

    name: str
    suffix: str
    label: str
    lossless: bool
    bits: tuple[int, ...]  # sample sizes the file stores; () for lossy formats
    encoder: str  # "wav" (byte copy / libsndfile), "soundfile", "ffmpeg"
    codec: str | None = None  # ffmpeg encoder
    muxer: str | None = None  # ffmpeg container
    codec_args: tuple[str, ...] = ()
    rates: tuple[int, ...] | None = None  # sample rates the codec takes (None: any)
    max_channels: int | None = None

    @property
    def needs_ffmpeg(self) -> bool:
        return self.encoder == "ffmpeg"


FORMATS: dict[str, OutputFormat] = {
    f.name: f
    for f in (
        OutputFormat("wav", ".wav", "WAV", True, (16, 24), "wav"),
        OutputFormat("flac", ".flac", "FLAC", True, (16, 24), "soundfile"),
        # V0 VBR (~245 kbit/s): a rip is worth the best the codec offers.
        OutputFormat(
            "mp3", ".mp3", "MP3", False, (), "ffmpeg", "libmp3lame", "mp3", ("-q:a", "0"),
            (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000), 2,
        ),
        OutputFormat("ogg", ".ogg", "Ogg Vorbis", False, (), "ffmpeg", "libvorbis", "ogg", ("-q:a", "6")),
        OutputFormat(
            "opus", ".opus", "Opus", False, (), "ffmpeg", "libopus", "opus", ("-b:a", "192k"),
            (48000, 24000, 16000, 12000, 8000), 8,
        ),
    )
}
_ALIASES = {"wave": "wav", "rf64": "wav", "vorbis": "ogg", "oga": "ogg", "fla": "flac"}


def get_format(name: str) -> OutputFormat:
    """The table entry for ``name`` (case-insensitive); ValueError listing the choices."""
    key = str(name).strip().lower().lstrip(".")
    key = _ALIASES.get(key, key)
    try:
        return FORMATS[key]
    except KeyError:
        raise ValueError(f"unknown output format {name!r}; choose one of {', '.join(FORMATS)}") from None


def format_for_path(path: Path) -> OutputFormat | None:
    """The format a file name's suffix asks for, or None."""
    try:
        return get_format(Path(path).suffix) if Path(path).suffix else None
    except ValueError:
        return None


# -- ffmpeg -------------------------------------------------------------------
def _pydub_converter() -> str:
    """The ffmpeg pydub is configured to use (``AudioSegment.converter``)."""
    with warnings.catch_warnings():
        # pydub warns at import when ffmpeg is missing, and its audioop import is deprecated in 3.11+.
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    return str(AudioSegment.converter or "ffmpeg")


def ffmpeg_path() -> str | None:
    """Absolute path of a runnable ffmpeg (pydub's, then PATH's, then imageio-ffmpeg's), or None."""
    try:
        conv = _pydub_converter()
    except ImportError:
        conv = "ffmpeg"
    if os.path.dirname(conv):
        return conv if os.path.isfile(conv) and os.access(conv, os.X_OK) else None
    return shutil.which(conv) or bundled_ffmpeg()


@functools.lru_cache(maxsize=8)
def _encoders(ffmpeg: str) -> frozenset[str]:
    try:
        out = subprocess.run(
            [ffmpeg, "-hide_banner", "-nostdin", "-encoders"],
            capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot ask %s for its encoders: %s", ffmpeg, exc)
        return frozenset()
    names = set()
    for line in out.splitlines():
        bits = line.split()
        if len(bits) >= 2 and len(bits[0]) == 6 and bits[0][0] == "A":
            names.add(bits[1])
    return frozenset(names)


def check_format(name: str) -> str | None:
    """None if ``name`` can be written now, else a message for the user (call when a format is chosen).

    The message says what is missing and that recordings will be kept as WAV.
    """
    fmt = get_format(name)
    if not fmt.needs_ffmpeg:
        return None
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        return (
            f"{fmt.label} needs ffmpeg, which was not found; install it (Debian/Ubuntu: apt install ffmpeg, "
            f"macOS: brew install ffmpeg, Windows: pip install imageio-ffmpeg). Until then recordings are kept as WAV."
        )
    if fmt.codec not in _encoders(ffmpeg):
        return (
            f"{fmt.label} needs ffmpeg's {fmt.codec} encoder, which {ffmpeg} lacks; "
            f"install a full ffmpeg build. Until then recordings are kept as WAV."
        )
    return None


_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Log ``message`` as a warning unless this process already said it."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def warn_if_unusable(name: str) -> str | None:
    """:func:`check_format`, logging the problem as a warning (once per process and message)."""
    problem = check_format(name)
    if problem:
        warn_once(problem)
    return problem


# -- writing ----------------------------------------------------------------
def _blocks(src: PcmSource, start: int, end: int, block_frames: int) -> Iterator[bytes | memoryview]:
    pos = max(0, start)
    end = min(end, src.frames)
    while pos < end:
        data = src.read(pos, min(block_frames, end - pos))
        if not len(data):
            raise EncodeError(f"{src.path.name} ended early at frame {pos} of {end}")
        pos += len(data) // src.format.bytes_per_frame
        yield data


def _to_int_array(data: bytes | memoryview, fmt: AudioFormat) -> np.ndarray:
    """PCM bytes to an array libsndfile writes at full scale (int16, or int32 left-justified)."""
    if fmt.sample_width == 2:
        return np.frombuffer(data, dtype="<i2").reshape(-1, fmt.channels)
    triples = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
    wide = np.zeros((triples.shape[0], 4), dtype=np.uint8)
    wide[:, 1:] = triples
    return wide.view("<i4").reshape(-1, fmt.channels)


def _encode_soundfile(src: PcmSource, start: int, end: int, dst: Path, container: str, bits: int, block_frames: int) -> None:
    import soundfile as sf

    fmt = src.format
    if container == "WAV" and (end - start) * fmt.channels * (bits // 8) > MAX_RIFF - 1024:
        container = "RF64"
    try:
        with sf.SoundFile(str(dst), "w", fmt.rate, fmt.channels, f"PCM_{bits}", format=container) as out:
            for data in _blocks(src, start, end, block_frames):
                out.write(_to_int_array(data, fmt))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise EncodeError(f"writing {container} failed: {exc}") from exc


def _ffmpeg_args(ffmpeg: str, src_fmt: AudioFormat, out: OutputFormat, dst: Path, rate: int | None, bits: int) -> list[str]:
    in_fmt = "s16le" if src_fmt.sample_width == 2 else "s24le"
    args = [ffmpeg, "-hide_banner", "-nostats", "-loglevel", "error"]
    args += ["-f", in_fmt, "-ar", str(src_fmt.rate), "-ac", str(src_fmt.channels), "-i", "pipe:0", "-map_metadata", "-1"]
    out_rate = rate or src_fmt.rate
    if out.rates is not None and out_rate not in out.rates:
        # e.g. MP3 stops at 48 kHz and Opus is 48 kHz inside: take the nearest rate of the same family.
        family = [r for r in out.rates if r <= out_rate and (out_rate % r == 0)] or [max(out.rates)]
        out_rate = max(family)
        log.info("%s cannot store %d Hz; resampling to %d Hz", out.label, src_fmt.rate, out_rate)
    if out_rate != src_fmt.rate:
        args += ["-ar", str(out_rate)]
    if out.max_channels is not None and src_fmt.channels > out.max_channels:
        args += ["-ac", str(out.max_channels)]
    if out.name == "flac":
        args += ["-c:a", "flac", "-sample_fmt", "s16" if bits == 16 else "s32"]
        if bits == 24:
            args += ["-bits_per_raw_sample", "24"]
        args += ["-f", "flac"]
    elif out.name == "wav":
        args += ["-c:a", f"pcm_s{bits}le", "-rf64", "auto", "-f", "wav"]
    else:
        args += ["-c:a", str(out.codec), *out.codec_args, "-f", str(out.muxer)]
    return args + ["-y", str(dst)]  # -y: dst is the caller's fresh temporary file


def _encode_ffmpeg(
    src: PcmSource, start: int, end: int, dst: Path, out: OutputFormat, rate: int | None, bits: int, block_frames: int
) -> None:
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise EncodeError(check_format(out.name) or f"{out.label} needs ffmpeg")
    args = _ffmpeg_args(ffmpeg, src.format, out, dst, rate, bits)
    log.debug("encoding with %s", args)
    with tempfile.TemporaryFile() as errfile:  # a file, not a pipe: ffmpeg can never block on stderr
        try:
            proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errfile)
        except OSError as exc:
            raise EncodeError(f"cannot run {ffmpeg}: {exc.strerror}") from exc
        broken = False
        try:
            assert proc.stdin is not None
            for data in _blocks(src, start, end, block_frames):
                try:
                    proc.stdin.write(data)
                except (BrokenPipeError, OSError):
                    broken = True
                    break
        finally:
            try:
                proc.stdin.close()  # type: ignore[union-attr]
            except OSError:
                broken = True
            try:
                code = proc.wait(timeout=_FFMPEG_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
                code = -9
        if code != 0 or broken:
            errfile.seek(0)
            detail = errfile.read()[-600:].decode("utf-8", "replace").strip()
            raise EncodeError(f"ffmpeg could not encode {out.label} (exit {code}): {detail or 'no message'}")


def encode(
    src: PcmSource,
    start: int,
    end: int,
    dst: Path,
    out: OutputFormat | str,
    *,
    bits: int | None = None,
    rate: int | None = None,
    block_seconds: float = BLOCK_SECONDS,
) -> None:
    """Write frames [start, end) of ``src`` to ``dst`` (an existing empty file the caller owns) as ``out``.

    ``bits`` (16/24, lossless formats only) and ``rate`` default to the source's;
    a rate change needs ffmpeg. Raises EncodeError; ``dst`` is then left for the caller to delete.
    """
    out = get_format(out) if isinstance(out, str) else out
    fmt = src.format
    bits = bits or fmt.bits
    if out.lossless and bits not in out.bits:
        raise ValueError(f"{out.label} stores {' or '.join(map(str, out.bits))}-bit samples, not {bits}-bit")
    block_frames = max(1, int(block_seconds * fmt.rate))
    resample = rate is not None and rate != fmt.rate
    if resample or out.needs_ffmpeg:
        _encode_ffmpeg(src, start, end, dst, out, rate, bits, block_frames)
    elif out.name == "wav" and bits == fmt.bits and isinstance(src, WavSource):
        copy_wav_range(src, start, end, dst)
    elif out.name == "wav":
        _encode_soundfile(src, start, end, dst, "WAV", bits, block_frames)
    else:
        _encode_soundfile(src, start, end, dst, "FLAC", bits, block_frames)
