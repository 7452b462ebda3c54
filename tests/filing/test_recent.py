"""The journal of filed recordings behind "Recent recordings" (issue 20, defect 11)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from trayrip.filing.recent import journal_path, note_filed, read_recent, recent_label


def touch(path: Path, age: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF")
    t = time.time() - age
    os.utime(path, (t, t))
    return path.resolve()


def test_what_any_process_filed_comes_first_album_tracks_included(tmp_path):
    journal = tmp_path / "state" / "recent.txt"
    music = tmp_path / "music"
    old = touch(music / "old.wav", age=3600)
    single = touch(music / "2026-12-07 10-00-00.flac")
    tracks = [touch(music / "Album" / f"0{i} Track.flac") for i in (1, 2)]
    elsewhere = touch(tmp_path / "desk" / "take.wav")
    note_filed([single], journal)  # the tray
    note_filed(tracks, journal)  # `trayrip record --split` in a terminal, another process
    note_filed([elsewhere], journal)  # `trayrip record -o ~/desk/take.wav`
    assert read_recent(music, journal=journal) == [elsewhere, tracks[1], tracks[0], single, old]
    assert read_recent(music, limit=2, journal=journal) == [elsewhere, tracks[1]]
    assert [recent_label(p, music) for p in read_recent(music, journal=journal)] == [
        "desk/take.wav", "Album/02 Track.flac", "Album/01 Track.flac", "2026-12-07 10-00-00.flac", "old.wav"]


def test_deleted_files_and_repeats_are_skipped_and_the_journal_stays_short(tmp_path):
    journal = tmp_path / "recent.txt"
    a, b = touch(tmp_path / "m" / "a.wav"), touch(tmp_path / "m" / "b.wav")
    note_filed([a, b, a], journal)
    b.unlink()
    assert read_recent(None, journal=journal) == [a]
    for i in range(500):
        note_filed([tmp_path / f"gone {i:03d}.wav"], journal)
    lines = journal.read_text().splitlines()
    assert len(lines) < 200 and lines[-1].endswith("gone 499.wav")


def test_the_journal_is_in_the_state_folder_and_a_broken_one_costs_the_list_only(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert journal_path() == tmp_path / "state" / "trayrip" / "recent.txt"
    (tmp_path / "state").write_text("not a folder")
    note_filed([tmp_path / "x.wav"])  # no exception
    assert read_recent(tmp_path / "missing") == []
