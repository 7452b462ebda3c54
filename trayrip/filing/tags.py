"""Tags: title, date, track number, album (filer thread, or the CLI offline).

FLAC, Ogg Vorbis/Opus and MP3 are tagged with mutagen (imported here only).
WAV gets a RIFF ``LIST``/``INFO`` chunk appended after the data chunk, with
the RIFF (or RF64 ds64) size fixed: O(1), so filing a WAV stays independent
of the recording's length.
"""
from __future__ import annotations

import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import FilingError
from ..wav.layout import read_layout, update_sizes
from ..wav.fileio import pread, pwrite

if TYPE_CHECKING:
    from .replaygain import ReplayGain

__all__ = ["Tags", "write_tags", "write_replaygain", "id3_bytes", "append_wav_info", "read_wav_info", "wav_chunks", "copy_wav_metadata", "copy_tags"]

log = logging.getLogger(__name__)

SOFTWARE = f"trayrip {__version__}"

# INFO ids as read by libsndfile, ffmpeg, foobar2000 and Windows Explorer.
_INFO_IDS = {"title": b"INAM", "album": b"IPRD", "date": b"ICRD", "track": b"ITRK", "comment": b"ICMT", "software": b"ISFT",
             "artist": b"IART", "genre": b"IGNR"}
# Chunks worth carrying over when a WAV is trimmed (tags); bext/cue/etc. hold positions that trimming breaks.
_META_CHUNKS = (b"LIST", b"id3 ", b"ID3 ")


@dataclass(frozen=True)
class Tags:
    """What is written into each filed file."""

    title: str = ""
    album: str = ""
    date: str = ""  # ISO 8601, e.g. 2024-05-01
    track: int | None = None
    tracks: int | None = None  # total number of tracks, with ``track``
    comment: str = ""
    artist: str = ""
    albumartist: str = ""
    genre: str = ""
    disc: int | None = None
    cover: bytes = b""  # image file contents (JPEG/PNG), embedded where the format allows
    cover_mime: str = ""
    replaygain: ReplayGain | None = None  # loudness tags (REPLAYGAIN_*, R128_* for Opus)

    @property
    def track_text(self) -> str:
        if self.track is None:
            return ""
        return f"{self.track}/{self.tracks}" if self.tracks else str(self.track)


def _picture(tags: Tags):
    from mutagen.flac import Picture

    pic = Picture()
    pic.type = 3  # front cover
    pic.mime = tags.cover_mime or "image/jpeg"
    pic.desc = "cover"
    pic.data = tags.cover
    return pic


def _vorbis_comments(audio, tags: Tags, fmt: str = "flac") -> None:
    for key, value in (("title", tags.title), ("album", tags.album), ("date", tags.date), ("comment", tags.comment),
                       ("artist", tags.artist), ("albumartist", tags.albumartist), ("genre", tags.genre)):
        if value:
            audio[key] = value
    if tags.disc is not None:
        audio["discnumber"] = str(tags.disc)
    if tags.cover:
        if fmt == "flac":
            audio.clear_pictures()
            audio.add_picture(_picture(tags))
        else:  # Ogg: the FLAC picture block, base64, as METADATA_BLOCK_PICTURE
            import base64

            audio["metadata_block_picture"] = base64.b64encode(_picture(tags).write()).decode("ascii")
    if tags.track is not None:
        audio["tracknumber"] = str(tags.track)
        if tags.tracks:
            audio["tracktotal"] = str(tags.tracks)
            audio["totaltracks"] = str(tags.tracks)
    if tags.replaygain is not None and tags.replaygain.usable:
        for key, value in (tags.replaygain.opus() if fmt == "opus" else tags.replaygain.vorbis()).items():
            audio[key] = value
    audio["encoder"] = SOFTWARE


def _id3_frames(id3, tags: Tags) -> None:
    from mutagen.id3 import APIC, COMM, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK, TSSE, TXXX

    id3.delall("TSSE")
    if tags.title:
        id3.add(TIT2(encoding=3, text=tags.title))
    if tags.album:
        id3.add(TALB(encoding=3, text=tags.album))
    if tags.date:
        id3.add(TDRC(encoding=3, text=tags.date))
    if tags.track is not None:
        id3.add(TRCK(encoding=3, text=tags.track_text))
    if tags.comment:
        id3.add(COMM(encoding=3, lang="eng", desc="", text=tags.comment))
    for frame, value in ((TPE1, tags.artist), (TPE2, tags.albumartist), (TCON, tags.genre)):
        if value:
            id3.add(frame(encoding=3, text=value))
    if tags.disc is not None:
        id3.add(TPOS(encoding=3, text=str(tags.disc)))
    if tags.cover:
        id3.add(APIC(encoding=3, mime=tags.cover_mime or "image/jpeg", type=3, desc="cover", data=tags.cover))
    if tags.replaygain is not None and tags.replaygain.usable:
        for desc, value in tags.replaygain.vorbis().items():  # uppercase descriptions, as foobar2000 and rsgain
            id3.add(TXXX(encoding=3, desc=desc, text=value))
    id3.add(TSSE(encoding=3, text=SOFTWARE))


def _write_mp3(path: Path, tags: Tags) -> None:
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        id3 = ID3(str(path))
    except ID3NoHeaderError:
        id3 = ID3()
    _id3_frames(id3, tags)
    id3.save(str(path), v2_version=3)  # ID3v2.3: what Windows Explorer and older players read


def id3_bytes(tags: Tags) -> bytes:
    """An ID3v2.3 tag as bytes, for the ``id3 `` chunk of a WAV (mutagen, so beets and Picard, read only that)."""
    import io

    from mutagen.id3 import ID3

    id3 = ID3()
    _id3_frames(id3, tags)
    buf = io.BytesIO()
    id3.save(buf, v2_version=3, padding=lambda info: 0)
    return buf.getvalue()


def _tagging_error(path: Path, exc: Exception) -> Exception:
    """The FilingError a tag writer's exception becomes (mutagen's own errors too); others pass unchanged."""
    if isinstance(exc, ImportError):
        return FilingError(f"tagging {path.name} needs mutagen (pip install mutagen): {exc}")
    if isinstance(exc, (OSError, ValueError)) or type(exc).__module__.startswith("mutagen"):
        return FilingError(f"tagging {path.name} failed: {exc}")
    return exc


def write_tags(path: Path, fmt: str, tags: Tags) -> None:
    """Tag ``path`` (of format ``fmt``: wav, flac, mp3, ogg, opus); raises FilingError."""
    path = Path(path)
    try:
        if fmt == "wav":
            append_wav_info(path, tags)
        elif fmt == "mp3":
            _write_mp3(path, tags)
        elif fmt in ("flac", "ogg", "opus"):
            from mutagen.flac import FLAC
            from mutagen.oggopus import OggOpus
            from mutagen.oggvorbis import OggVorbis

            audio = {"flac": FLAC, "ogg": OggVorbis, "opus": OggOpus}[fmt](str(path))
            _vorbis_comments(audio, tags, fmt)
            audio.save()
        else:
            raise ValueError(f"no tag writer for {fmt}")
    except Exception as exc:
        error = _tagging_error(path, exc)
        if error is exc:
            raise
        raise error from exc


def write_replaygain(path: Path, fmt: str, replaygain: ReplayGain) -> None:
    """Set only the loudness tags of an existing file, keeping its other tags (offline trim); raises FilingError."""
    path = Path(path)
    try:
        if fmt in ("wav", "mp3"):
            from mutagen.id3 import ID3, ID3NoHeaderError, TXXX

            if fmt == "wav":
                from mutagen.wave import WAVE

                audio = WAVE(str(path))  # its id3 chunk (mutagen, beets and Picard read that one)
                if audio.tags is None:
                    audio.add_tags()
                id3 = audio.tags
            else:
                try:
                    id3 = ID3(str(path))
                except ID3NoHeaderError:
                    id3 = ID3()
            for desc, value in replaygain.vorbis().items():
                id3.add(TXXX(encoding=3, desc=desc, text=value))
            if fmt == "wav":
                audio.save(v2_version=3)
            else:
                id3.save(str(path), v2_version=3)
        elif fmt in ("flac", "ogg", "opus"):
            import mutagen

            audio = mutagen.File(str(path))
            if audio.tags is None:
                audio.add_tags()
            for key, value in (replaygain.opus() if fmt == "opus" else replaygain.vorbis()).items():
                audio[key] = value
            audio.save()
        else:
            raise ValueError(f"no tag writer for {fmt}")
    except Exception as exc:
        error = _tagging_error(path, exc)
        if error is exc:
            raise
        raise error from exc


# -- WAV ------------------------------------------------------------------------
def _info_chunk(items: list[tuple[bytes, str]]) -> bytes:
    body = b"INFO"
    for cid, text in items:
        value = text.replace("\x00", "").encode("utf-8") + b"\x00"
        body += cid + struct.pack("<I", len(value)) + value + (b"\x00" if len(value) & 1 else b"")
    return b"LIST" + struct.pack("<I", len(body)) + body


def wav_chunks(fd: int) -> list[tuple[bytes, int, int]]:
    """(id, offset of the chunk header, body size) of every top-level chunk after the RIFF header.

    The data chunk's size is the real one (RF64's ds64 is honoured).
    """
    size = os.fstat(fd).st_size
    layout = read_layout(fd, size)
    chunks = []
    pos = 12
    while pos + 8 <= size:
        cid, csize = struct.unpack("<4sI", pread(fd, 8, pos))
        if pos == layout.data_offset - 8:
            csize = layout.data_size
        chunks.append((cid, pos, csize))
        pos += 8 + csize + (csize & 1)
    return chunks


def append_wav_info(path: Path, tags: Tags) -> None:
    """Put a LIST/INFO chunk after the data chunk of a WAV/RF64 file (replacing what followed the data)."""
    items = [
        (_INFO_IDS["title"], tags.title),
        (_INFO_IDS["album"], tags.album),
        (_INFO_IDS["date"], tags.date),
        (_INFO_IDS["track"], tags.track_text),
        (_INFO_IDS["comment"], tags.comment),
        (_INFO_IDS["artist"], tags.artist),
        (_INFO_IDS["genre"], tags.genre),
        (_INFO_IDS["software"], SOFTWARE),
    ]
    chunk = _info_chunk([(cid, text) for cid, text in items if text])
    try:
        blob = id3_bytes(tags)
    except ImportError:  # mutagen missing: INFO alone still names the file for most players
        blob = b""
    if blob:
        chunk += b"id3 " + struct.pack("<I", len(blob)) + blob + (b"\0" if len(blob) & 1 else b"")
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        layout = read_layout(fd, size)
        end = layout.data_offset + layout.data_size
        if layout.data_size & 1:
            end += 1
        try:
            pwrite(fd, b"\0" * (layout.data_size & 1) + chunk, end - (layout.data_size & 1))
            os.ftruncate(fd, end + len(chunk))
            update_sizes(fd, layout, layout.data_size, total_size=end + len(chunk))
        except ValueError:  # a plain RIFF file just under 4 GiB with no room for ds64: leave it untagged
            os.ftruncate(fd, size if size <= end else end)
            log.warning("%s is too close to 4 GiB for a tag chunk; left untagged", Path(path).name)
        except OSError:  # e.g. a full disk: put the file back as it was, then report
            os.ftruncate(fd, size if size <= end else end)
            raise
        os.fsync(fd)
    finally:
        os.close(fd)


def read_wav_info(path: Path) -> dict[str, str]:
    """The LIST/INFO entries of a WAV file as {id: text}, e.g. {'INAM': 'title'}."""
    out: dict[str, str] = {}
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        for cid, pos, size in wav_chunks(fd):
            if cid != b"LIST" or size < 4 or size > 1 << 20:
                continue
            body = pread(fd, size, pos + 8)
            if body[:4] != b"INFO":
                continue
            p = 4
            while p + 8 <= len(body):
                sid, ssize = struct.unpack_from("<4sI", body, p)
                value = body[p + 8 : p + 8 + ssize].split(b"\x00", 1)[0]
                out[sid.decode("latin-1")] = value.decode("utf-8", "replace")
                p += 8 + ssize + (ssize & 1)
    finally:
        os.close(fd)
    return out


def copy_wav_metadata(src_fd: int, dst: Path, max_bytes: int = 1 << 20) -> int:
    """Append the tag chunks (LIST, id3) of the WAV open as ``src_fd`` to the end of WAV ``dst``.

    Returns the number of chunks copied. Used when trimming files made elsewhere,
    so their tags survive; the sizes of ``dst`` are fixed (RF64 honoured).
    """
    chunks = [(cid, pos, size) for cid, pos, size in wav_chunks(src_fd) if cid in _META_CHUNKS and size <= max_bytes]
    if not chunks:
        return 0
    fd = os.open(dst, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        layout = read_layout(fd)
        end = layout.data_offset + layout.data_size + (layout.data_size & 1)
        for cid, pos, size in chunks:
            blob = pread(src_fd, 8 + size, pos)
            blob += b"\0" if size & 1 else b""
            pwrite(fd, blob, end)
            end += len(blob)
        os.ftruncate(fd, end)
        update_sizes(fd, layout, layout.data_size, total_size=end)
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(chunks)


def copy_tags(src: Path, dst: Path, fmt: str) -> bool:
    """Copy the tags of ``src`` onto ``dst`` (format ``fmt``) when both are of the same tag family.

    Vorbis comments between FLAC/Ogg/Opus, ID3 between MP3s. Returns whether
    anything was copied; a problem is logged, never raised (tags are a bonus).
    """
    try:
        import mutagen
        from mutagen.id3 import ID3, ID3NoHeaderError

        if fmt == "mp3":
            try:
                ID3(str(src)).save(str(dst), v2_version=3)
            except ID3NoHeaderError:
                return False
            return True
        if fmt not in ("flac", "ogg", "opus"):
            return False
        source = mutagen.File(str(src))
        if source is None or source.tags is None or not hasattr(source.tags, "as_dict"):
            return False
        target = mutagen.File(str(dst))
        if target is None:
            return False
        if target.tags is None:
            target.add_tags()
        for key, values in source.tags.as_dict().items():
            if key.lower() != "encoder":
                target.tags[key] = values
        target.save()
        return True
    except Exception as exc:  # noqa: BLE001 - tags are never worth failing a trim for
        log.warning("could not copy the tags of %s: %s", Path(src).name, exc)
        return False
