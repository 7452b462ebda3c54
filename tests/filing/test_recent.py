"""The journal of filed recordings behind "Recent recordings" (issue 20, defect 11)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from trayrip.filing.recent import JOURNAL, note_filed, read_recent, recent_label


def touch(path: Path, age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    t = time.time() - age
    os.utime(path, (t, t))
    return path


def test_what_any_process_filed_comes_first_album_tracks_included(tmp_path):
    old = touch(tmp_path / "old.wav", age=3600)
    single = touch(tmp_path / "2026-12-07 10-00-00.flac")
    tracks = [touch(tmp_path / "Album" / f"0{i} Track.flac") for i in (1, 2)]
    note_filed(tmp_path, [single])  # the tray
    note_filed(tmp_path, tracks)  # `trayrip record --split` in a terminal, another process
    assert read_recent(tmp_path) == [tracks[1], tracks[0], single, old]
    assert read_recent(tmp_path, limit=2) == [tracks[1], tracks[0]]
    assert [recent_label(p, tmp_path) for p in read_recent(tmp_path)] == [
        "Album/02 Track.flac", "Album/01 Track.flac", "2026-12-07 10-00-00.flac", "old.wav"]


def test_deleted_files_and_repeats_are_skipped_and_the_journal_stays_short(tmp_path):
    a = touch(tmp_path / "a.wav")
    b = touch(tmp_path / "b.wav")
    note_filed(tmp_path, [a, b, a])
    b.unlink()
    assert read_recent(tmp_path) == [a]
    for i in range(500):
        note_filed(tmp_path, [tmp_path / f"gone {i:03d} {'x' * 40}.wav"])
    lines = (tmp_path / JOURNAL).read_text().splitlines()
    assert len(lines) < 200 and lines[-1] == f"gone 499 {'x' * 40}.wav"


def test_an_unwritable_folder_costs_the_list_only(tmp_path):
    note_filed(tmp_path / "missing", [tmp_path / "missing" / "x.wav"])  # no exception
    assert read_recent(tmp_path / "missing") == []
