"""Name templates: fields, sanitising for every OS, containment, fuzzing."""
from __future__ import annotations

import datetime as dt
import os
import random

import pytest

from trayrip.errors import FilingError
from trayrip.filing.naming import (
    MAX_COMPONENT_BYTES,
    NameFields,
    contained_path,
    format_duration,
    render,
    sanitize_component,
    uses_counter,
    validate_template,
)

WHEN = dt.datetime(2024, 5, 1, 21, 30, 5)
RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {f"{p}{d}" for p in ("COM", "LPT") for d in "123456789¹²³"}
FORBIDDEN = set('<>:"/\\|?*') | {chr(c) for c in range(32)} | {"\x7f"}


def fields(title: str = "", device: str = "Monitor of Built-in Audio", duration: float = 205.4) -> NameFields:
    return NameFields(WHEN, duration, device, title)


def assert_portable(name: str) -> None:
    assert name, "empty name"
    assert not (set(name) & FORBIDDEN), repr(name)
    assert len(name.encode("utf-8")) <= MAX_COMPONENT_BYTES
    assert not name.startswith(".") and not name.startswith(" ")
    assert not name.endswith(".") and not name.endswith(" ")
    assert name.split(".", 1)[0].rstrip(" ").upper() not in RESERVED, repr(name)


def test_fields_expand():
    f = fields("Live at Home")
    assert render("{date} {time}", f) == ["2024-05-01 21-30-05"]
    assert render("{title} {counter:03d} {duration}", f, counter=7) == ["Live at Home 007 3m25s"]
    assert render("{device}", f) == ["Monitor of Built-in Audio"]
    assert format_duration(3723) == "1h02m03s" and format_duration(9.6) == "10s"


def test_slash_in_template_makes_folders_but_never_in_values():
    f = fields("AC/DC\\Back")
    assert render("{date}/{title}", f) == ["2024-05-01", "AC_DC_Back"]
    assert render("{date}\\{time}", f) == ["2024-05-01", "21-30-05"]


def test_empty_title_falls_back_and_keeps_folders():
    assert render("{title}", fields("")) == ["recording"]
    assert render("{date}/{title}", fields("")) == ["2024-05-01", "recording"]
    assert render("  {title} - ", fields("")) == ["-"]


@pytest.mark.parametrize(
    "template, needle",
    [("{nope}", "unknown field"), ("{title.__class__}", "unknown field"), ("{0}", "unknown field"),
     ("{title:>10}", "format spec"), ("{counter:q}", "bad format"), ("{", "bad name template"), ("  ", "empty"),
     ("a\x00b", "NUL")],
)
def test_bad_templates_are_refused_with_a_reason(template, needle):
    with pytest.raises(ValueError, match=needle):
        validate_template(template)


def test_counter_detection():
    assert uses_counter("{title} {counter}") and not uses_counter("{title}")


@pytest.mark.parametrize(
    "title, expected",
    [
        ("..", "recording"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("/", "_"),
        ("\\", "_"),
        ("a\x00b", "ab"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("LpT1", "_LpT1"),
        ("COM¹", "_COM¹"),
        ("CONSOLE", "CONSOLE"),
        ("name. . .", "name"),
        (".hidden", "hidden"),
        ("tab\tand\nnewline", "tabandnewline"),
        ('a<b>c:d"e|f?g*h', "a_b_c_d_e_f_g_h"),
    ],
)
def test_nasty_titles(title, expected):
    assert render("{title}", fields(title)) == [expected]


def test_300_character_titles_are_cut_on_a_character_boundary():
    for ch in ("a", "é", "音", "🎵"):
        name = render("{title}", fields(ch * 300))[-1]
        assert_portable(name)
        assert name == ch * len(name)  # no broken multi-byte character at the end
        assert len(name.encode()) > MAX_COMPONENT_BYTES - 4


def test_fuzzed_titles_and_templates_give_portable_names_inside_the_folder(tmp_path):
    rng = random.Random(4)
    alphabet = list("ab .-_/\\:*?\"<>|\x00\x01\x1f\x7fé音🎵") + ["..", "CON", "nul", "COM1", "LPT9.", " .", "{", "}"]
    for _ in range(2000):
        title = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 320)))
        template = rng.choice(["{title}", "{date}/{title}", "{title}/{time}", "x{title}y", "{title} {counter}", "../{title}"])
        parts = render(template, fields(title))
        for part in parts:
            assert_portable(part)
            assert part not in (".", "..")
        path = contained_path(tmp_path, parts)
        assert path.resolve().is_relative_to(tmp_path.resolve())
    # and the names really are creatable here
    for i in range(50):
        title = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 320)))
        path = contained_path(tmp_path, [*render("{title}", fields(title))[:-1], f"{render('{title}', fields(title))[-1]} {i}.wav"])
        path.write_bytes(b"x")


def test_containment_refuses_escapes(tmp_path):
    root = tmp_path / "music"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    os.symlink(tmp_path / "outside", root / "link")
    with pytest.raises(FilingError):
        contained_path(root, ["link", "x.wav"])  # a symlink out of the folder
    for bad in (["..", "x"], ["a/b"], ["a\\b"], [""], ["."]):
        with pytest.raises(FilingError):
            contained_path(root, bad)
    assert contained_path(root, ["a", "b.wav"]) == root / "a" / "b.wav"


def test_sanitize_is_idempotent():
    rng = random.Random(7)
    for _ in range(500):
        text = "".join(rng.choice("aZ .-_/\\:\x00CONnul音") for _ in range(rng.randint(0, 40)))
        once = sanitize_component(text)
        assert sanitize_component(once) == once


def test_track_fields_from_the_player():
    f = NameFields(dt.datetime(2026, 12, 2, 14, 10, 48), 200.0, "", "Sé/cond: Wind", artist="Bob", album="LP",
                   albumartist="Various", track=2, disc=1, released="1999-01-02")
    assert render("{track:02} {artist} - {title}", f) == ["02 Bob - Sé_cond_ Wind"]
    assert render("{albumartist}/{disc}-{track:03} {title} {date}", f) == ["Various", "1-002 Sé_cond_ Wind 1999-01-02"]
    bare = NameFields(dt.datetime(2026, 12, 2, 14, 10, 48), title="T")
    assert render("{track:02} {artist} - {title}", bare) == ["- T"]  # unknown numbers are empty, not an error
    assert render("{date} {time} {album}", bare) == ["2026-12-02 14-10-48"]
    with pytest.raises(ValueError, match="format spec"):
        validate_template("{artist:02}")
