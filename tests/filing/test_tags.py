"""Tags written and read back: mutagen for FLAC/MP3/Ogg/Opus, LIST/INFO for WAV (RF64 too)."""
from __future__ import annotations

import json
import os
import subprocess

import mutagen
import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
from trayrip.capture.base import AudioFormat
from trayrip.filing.encoders import encode
from trayrip.wav.reader import WavSource
from trayrip.wav.pcm import from_float
from trayrip.filing.tags import Tags, append_wav_info, copy_tags, copy_wav_metadata, read_wav_info, write_tags
from trayrip.recording.writer import WavWriter

TAGS = Tags(title="Tëst – 01", album="trayrip 2024-05-01", date="2024-05-01", track=2, tracks=7, comment="recorded from X")
# ffmpeg/ffprobe are part of the test set-up (installer/debian-packages.txt): never skipped.


def capture(path, data, width=2, rate=48000, rf64_limit=None):
    kwargs = {} if rf64_limit is None else {"rf64_limit": rf64_limit}
    w = WavWriter(path, AudioFormat(rate, data.shape[1], width), **kwargs)
    w.write(from_float(data, width))
    w.close()
    return path


def encoded(tmp_path, name):
    src = capture(tmp_path / "c.wav", at.tone(600, 0.5))
    out = tmp_path / f"o.{name}"
    out.write_bytes(b"")
    with WavSource(src) as s:
        encode(s, 0, s.frames, out, name)
    return out


@pytest.mark.parametrize("name", ["flac", "ogg", "opus"])
def test_vorbis_comment_formats(tmp_path, name):
    out = encoded(tmp_path, name)
    write_tags(out, name, TAGS)
    f = mutagen.File(str(out))
    assert f["title"] == ["Tëst – 01"] and f["album"] == ["trayrip 2024-05-01"] and f["date"] == ["2024-05-01"]
    assert f["tracknumber"] == ["2"] and f["tracktotal"] == ["7"] and f["comment"] == ["recorded from X"]
    assert abs(sf.info(str(out)).duration - 0.5) < 0.03  # still plays


def test_mp3_id3(tmp_path):
    out = encoded(tmp_path, "mp3")
    write_tags(out, "mp3", TAGS)
    f = mutagen.File(str(out))
    assert f.tags.version[:2] == (2, 3)
    assert str(f.tags["TIT2"]) == "Tëst – 01" and str(f.tags["TALB"]) == "trayrip 2024-05-01"
    assert str(f.tags["TRCK"]) == "2/7" and str(f.tags["TDRC"]) == "2024-05-01"
    assert abs(f.info.length - 0.5) < 0.06


def ffprobe_tags(path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(path)], capture_output=True, text=True, check=True)
    return {k.lower(): v for k, v in json.loads(out.stdout)["format"].get("tags", {}).items()}


@pytest.mark.parametrize("width, channels, frames", [(2, 2, 4800), (3, 1, 4801)])  # the second has odd data: pad byte
def test_wav_info_chunk_after_the_data(tmp_path, width, channels, frames):
    data = at.tone(440, frames / 48000, channels=channels)
    path = capture(tmp_path / "c.wav", data, width=width)
    before, _ = sf.read(str(path), dtype="int32")
    append_wav_info(path, TAGS)
    info = read_wav_info(path)
    assert info["INAM"] == "Tëst – 01" and info["IPRD"] == "trayrip 2024-05-01" and info["ICRD"] == "2024-05-01"
    assert info["ITRK"] == "2/7" and info["ICMT"] == "recorded from X" and info["ISFT"].startswith("trayrip")
    after, _ = sf.read(str(path), dtype="int32")
    np.testing.assert_array_equal(after, before)  # the samples are untouched
    raw = path.read_bytes()
    assert int.from_bytes(raw[4:8], "little") == len(raw) - 8  # RIFF size covers the new chunk
    with sf.SoundFile(str(path)) as f:  # libsndfile reads INFO too
        assert f.title == "Tëst – 01" and f.album == "trayrip 2024-05-01"
    tags = ffprobe_tags(path)  # ffprobe reads LIST/INFO as well
    assert tags["title"] == "Tëst – 01" and tags["track"] == "2/7"


def test_tagging_twice_replaces_the_chunk(tmp_path):
    path = capture(tmp_path / "c.wav", at.tone(440, 0.1))
    append_wav_info(path, TAGS)
    size = path.stat().st_size
    append_wav_info(path, Tags(title="B"))
    assert read_wav_info(path)["INAM"] == "B" and "IPRD" not in read_wav_info(path)
    assert path.stat().st_size < size


def test_rf64_wav_keeps_its_sizes_in_ds64(tmp_path):
    data = at.tone(440, 0.2)
    path = capture(tmp_path / "c.wav", data, rf64_limit=1000)
    assert path.read_bytes()[:4] == b"RF64"
    append_wav_info(path, TAGS)
    raw = path.read_bytes()
    assert raw[:4] == b"RF64" and raw[12:16] == b"ds64"
    riff_size = int.from_bytes(raw[20:28], "little")
    assert riff_size == len(raw) - 8
    assert read_wav_info(path)["INAM"] == "Tëst – 01"
    back, _ = sf.read(str(path), dtype="float32")
    assert back.shape == data.shape and np.abs(back - data).max() < 1e-4


def test_wav_tags_carry_over_to_a_trimmed_copy(tmp_path):
    src = capture(tmp_path / "c.wav", at.tone(440, 0.3))
    append_wav_info(src, TAGS)
    out = tmp_path / "o.wav"
    out.write_bytes(b"")
    with WavSource(src) as s:
        encode(s, 100, 1000, out, "wav")
        assert copy_wav_metadata(s.fd, out) == 2  # LIST/INFO and id3
    assert read_wav_info(out)["INAM"] == "Tëst – 01"
    assert sf.info(str(out)).frames == 900


def test_wav_gets_an_id3_chunk_that_mutagen_reads(tmp_path):
    """mutagen (and so beets and Picard) reads only ID3 in WAV; players read LIST/INFO: both are written."""
    from mutagen.wave import WAVE

    from trayrip.filing.tags import Tags, write_tags

    path = tmp_path / "t.wav"
    sf.write(str(path), np.zeros((4800, 2), np.int16), 48000, subtype="PCM_16")
    write_tags(path, "wav", Tags(title="Song Ä", artist="Ann", album="LP", albumartist="Various", genre="Pop",
                                 date="2024-05-01", track=3, disc=1, cover=b"\x89PNG fake", cover_mime="image/png"))
    tags = WAVE(str(path)).tags
    assert str(tags["TIT2"]) == "Song Ä" and str(tags["TPE1"]) == "Ann" and str(tags["TPE2"]) == "Various"
    assert str(tags["TCON"]) == "Pop" and str(tags["TRCK"]) == "3" and tags.getall("APIC")[0].data == b"\x89PNG fake"
    info = read_wav_info(path)
    assert (info["INAM"], info["IART"], info["IGNR"]) == ("Song Ä", "Ann", "Pop")
    assert sf.info(str(path)).frames == 4800


def test_flac_tags_carry_over(tmp_path):
    a = encoded(tmp_path, "flac")
    write_tags(a, "flac", TAGS)
    b = tmp_path / "b.flac"
    sf.write(str(b), np.zeros((100, 2)), 48000)
    assert copy_tags(a, b, "flac")
    assert mutagen.File(str(b))["title"] == ["Tëst – 01"]


def test_write_tags_refuses_unknown_formats_clearly(tmp_path):
    p = tmp_path / "x.aiff"
    p.write_bytes(b"")
    with pytest.raises(Exception, match="no tag writer"):
        write_tags(p, "aiff", TAGS)
    assert os.path.getsize(p) == 0


PLAYER_TAGS = Tags(title="Song", album="LP", date="2024-05-01", track=3, artist="Ann", albumartist="Various",
                   genre="Pop", disc=2, cover=b"\x89PNG\r\n\x1a\n cover", cover_mime="image/png")


@pytest.mark.parametrize("name", ["flac", "ogg", "mp3"])
def test_player_tags_and_cover_in_every_format(tmp_path, name):
    """What --tracks writes: artist, album artist, genre, disc and the cover picture, as each format spells them."""
    import base64

    from mutagen.flac import Picture

    out = encoded(tmp_path, name)
    write_tags(out, name, PLAYER_TAGS)
    f = mutagen.File(str(out))
    if name == "mp3":
        t = f.tags
        assert (str(t["TPE1"]), str(t["TPE2"]), str(t["TCON"]), str(t["TPOS"])) == ("Ann", "Various", "Pop", "2")
        assert t.getall("APIC")[0].data == PLAYER_TAGS.cover and t.getall("APIC")[0].mime == "image/png"
        return
    assert (f["artist"], f["albumartist"], f["genre"], f["discnumber"]) == (["Ann"], ["Various"], ["Pop"], ["2"])
    if name == "flac":
        pic = f.pictures[0]
    else:
        pic = Picture(base64.b64decode(f["metadata_block_picture"][0]))
    assert (pic.data, pic.mime, pic.type) == (PLAYER_TAGS.cover, "image/png", 3)


def riff_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(id, declared size, offset of the body) of each top-level chunk; they must tile the file exactly."""
    import struct

    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    out, pos = [], 12
    while pos < len(data):
        cid, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append((cid, size, pos + 8))
        pos += 8 + size + (size & 1)
    assert pos == len(data), "the chunks do not end where the file ends"
    return out


@pytest.mark.parametrize("title", ["Song", "Song Ä1"])
def test_the_wav_id3_chunk_size_is_the_tags_length_exactly(tmp_path, title):
    """Issue 20, item 6: readers that walk the chunks trust the size; a wrong one hides or corrupts what follows."""
    from trayrip.filing.tags import Tags, write_tags

    path = tmp_path / "t.wav"
    sf.write(str(path), np.zeros((4800, 2), np.int16), 48000, subtype="PCM_16")
    write_tags(path, "wav", Tags(title=title, artist="Ann", cover=b"\x89PNG fake", cover_mime="image/png"))
    data = path.read_bytes()
    [(_, size, body)] = [c for c in riff_chunks(data) if c[0] == b"id3 "]
    tag = data[body:body + size]
    assert tag[:3] == b"ID3"
    synchsafe = tag[6:10]
    length = 10 + (synchsafe[0] << 21 | synchsafe[1] << 14 | synchsafe[2] << 7 | synchsafe[3])
    assert size == length, f"the id3 chunk says {size} bytes, the tag is {length}"
