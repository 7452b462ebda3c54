"""WAV/RF64 header layout shared by the writer, trimming and recovery (any thread).

Layout written by trayrip (all little-endian)::

    RIFF|RF64  size  WAVE
    JUNK|ds64  28 bytes   <- reserved so the file can become RF64 in place
    fmt        16 or 40 bytes (WAVE_FORMAT_EXTENSIBLE above 2 channels)
    data       size  <samples...>

Sizes above 4 GiB go in the ds64 chunk (EBU Tech 3306) and the 32-bit
fields hold 0xFFFFFFFF.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from .format import AudioFormat
from .fileio import pread, pwrite

__all__ = ["WavLayout", "build_header", "read_layout", "update_sizes", "MAX_RIFF"]

MAX_RIFF = 0xFFFFFFFF
_DS64_BODY = 28
_KSDATAFORMAT_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")


@dataclass(frozen=True)
class WavLayout:
    """Where things are in a WAV file."""

    fmt: AudioFormat
    ds64_offset: int | None  # offset of the JUNK/ds64 chunk header, if any
    fmt_end: int  # offset just after the fmt chunk
    data_offset: int  # first sample byte
    data_size: int  # bytes of samples according to the header
    is_rf64: bool


def _fmt_body(fmt: AudioFormat) -> bytes:
    block_align = fmt.bytes_per_frame
    base = struct.pack("<HHIIHH", 1, fmt.channels, fmt.rate, fmt.rate * block_align, block_align, fmt.bits)
    if fmt.channels <= 2:
        return base
    mask = (1 << fmt.channels) - 1 if fmt.channels <= 18 else 0
    ext = struct.pack("<HHI", 22, fmt.bits, mask) + _KSDATAFORMAT_SUBTYPE_PCM
    return struct.pack("<H", 0xFFFE) + base[2:] + ext


def build_header(fmt: AudioFormat) -> bytes:
    """Header for an empty data chunk; the data starts at ``len(header)``."""
    body = _fmt_body(fmt)
    head = b"RIFF" + struct.pack("<I", 0) + b"WAVE"
    head += b"JUNK" + struct.pack("<I", _DS64_BODY) + bytes(_DS64_BODY)
    head += b"fmt " + struct.pack("<I", len(body)) + body
    head += b"data" + struct.pack("<I", 0)
    riff = len(head) - 8
    return head[:4] + struct.pack("<I", riff) + head[8:]


def update_sizes(
    fd: int, layout: WavLayout, data_size: int, total_size: int | None = None, limit: int = MAX_RIFF
) -> WavLayout:
    """Rewrite the size fields for ``data_size`` bytes of samples; may switch to RF64.

    ``total_size`` is the file length (defaults to data end plus a pad byte if odd);
    ``limit`` is the largest size a 32-bit field may hold (lowered only in tests).
    """
    if total_size is None:
        total_size = layout.data_offset + data_size + (data_size & 1)
    riff_size = total_size - 8
    rf64 = layout.is_rf64 or riff_size > limit or data_size > limit
    if rf64 and layout.ds64_offset is None:
        raise ValueError("this WAV file has no room for an RF64 ds64 chunk")
    if rf64:
        frames = data_size // layout.fmt.bytes_per_frame
        ds64 = b"ds64" + struct.pack("<IQQQI", _DS64_BODY, riff_size, data_size, frames, 0)
        pwrite(fd, ds64, layout.ds64_offset)
        pwrite(fd, struct.pack("<I", MAX_RIFF), layout.data_offset - 4)
        pwrite(fd, b"RF64" + struct.pack("<I", MAX_RIFF), 0)
    else:
        pwrite(fd, struct.pack("<I", data_size), layout.data_offset - 4)
        pwrite(fd, b"RIFF" + struct.pack("<I", riff_size), 0)
    return WavLayout(layout.fmt, layout.ds64_offset, layout.fmt_end, layout.data_offset, data_size, rf64)


def _parse_fmt(body: bytes) -> AudioFormat:
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == 0xFFFE and len(body) >= 40:
        if body[24:40] != _KSDATAFORMAT_SUBTYPE_PCM:
            raise ValueError("WAV sub-format is not integer PCM")
    elif tag != 1:
        raise ValueError(f"WAV format tag {tag:#x} is not integer PCM")
    if bits not in (16, 24):
        raise ValueError(f"{bits}-bit WAV is not supported (16 or 24)")
    return AudioFormat(rate, channels, bits // 8)


def read_layout(fd: int, file_size: int | None = None) -> WavLayout:
    """Parse the chunks of a PCM WAV/RF64 file up to its data chunk; ValueError if it is not one."""
    try:
        return _read_layout(fd, file_size)
    except struct.error as exc:  # a chunk cut short, e.g. a header torn by a crash
        raise ValueError(f"truncated WAV header ({exc})") from None


def _read_layout(fd: int, file_size: int | None) -> WavLayout:
    if file_size is None:
        file_size = os.fstat(fd).st_size
    head = pread(fd, 12, 0)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    is_rf64 = head[:4] == b"RF64"
    pos, fmt, ds64_offset, ds64_data = 12, None, None, None
    fmt_end = None
    while pos + 8 <= file_size:
        cid, size = struct.unpack("<4sI", pread(fd, 8, pos))
        if cid in (b"ds64", b"JUNK") and ds64_offset is None and fmt is None and size == _DS64_BODY:
            ds64_offset = pos
            if cid == b"ds64":
                _riff, ds64_data, _frames, _table = struct.unpack("<QQQI", pread(fd, _DS64_BODY, pos + 8))
        elif cid == b"ds64":
            _riff, ds64_data, _frames, _table = struct.unpack("<QQQI", pread(fd, 28, pos + 8))
        elif cid == b"fmt ":
            fmt = _parse_fmt(pread(fd, size, pos + 8))
            fmt_end = pos + 8 + size + (size & 1)
        elif cid == b"data":
            if fmt is None or fmt_end is None:
                raise ValueError("WAV data chunk comes before its fmt chunk")
            data_size = ds64_data if (is_rf64 and size == MAX_RIFF and ds64_data is not None) else size
            data_size = min(data_size, file_size - pos - 8)
            return WavLayout(fmt, ds64_offset, fmt_end, pos + 8, data_size, is_rf64)
        pos += 8 + size + (size & 1)
    raise ValueError("WAV file has no data chunk")
