"""Fuzzed config files and hotkey strings: a clear message, defaults, and the user's file untouched."""
from __future__ import annotations

import random
import string
import sys
from dataclasses import fields

import pytest

from trayrip.config import Config, ConfigError, ConfigStore, to_toml, validate_value
from trayrip.hotkey_syntax import HotkeyError, display_name, parse_hotkey, xdotool_keys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KEYS = ["hotkey", "folder", "format", "device", "trim", "threshold_db", "split", "name_template", "notifications", "rate", "bits", "min_track", "bogus"]
VALUES = ['""', '"<ctrl>+<alt>+r"', "true", "1e309", "-1", "99999999999999999999", "nan", "[1, 2]", "{a = 1}", '"\\u0000"', "'x'", "2024-01-01", '"flac"', '"m4b"', "0x10", '"../../etc"']


def random_toml(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(0, 8)):
        roll = rng.random()
        if roll < 0.6:
            lines.append(f"{rng.choice(KEYS)} = {rng.choice(VALUES)}")
        elif roll < 0.8:
            lines.append("".join(rng.choice(string.printable) for _ in range(rng.randint(1, 40))))
        else:
            lines.append(f"[{rng.choice(KEYS)}]")
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(300))
def test_fuzzed_config_files_never_crash_and_stay_untouched(tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "config.toml"
    raw = random_toml(rng).encode() if seed % 5 else bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    path.write_bytes(raw)
    result = ConfigStore(path).load()
    for problem in result.problems:
        assert isinstance(problem, str) and problem and "Traceback" not in problem and "\n" not in problem
    assert path.read_bytes() == raw  # never rewritten behind the user's back

    # An independent oracle: what each key of the file should have become.
    defaults = Config()
    broken = False
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        assert result.config == defaults and len(result.problems) == 1
        return
    except tomllib.TOMLDecodeError:  # each line that parses alone still counts; the others are named
        broken, data = True, {}
        for line in raw.decode("utf-8").split("\n"):
            try:
                found = tomllib.loads(line)
            except tomllib.TOMLDecodeError:
                continue
            if not set(found) & set(data):  # a key set again: the first line counts
                data.update(found)
        assert any(" line " in p and "is not valid TOML" in p for p in result.problems), result.problems
    known = {f.name for f in fields(Config)}
    for key, value in data.items():
        if key not in known:
            assert any(repr(key) in p for p in result.problems), (key, result.problems)
            continue
        try:
            expected = validate_value(key, value)
        except ConfigError:
            assert getattr(result.config, key) == getattr(defaults, key), key
            assert any(p.split(": ", 1)[1].startswith(key) for p in result.problems if ": " in p), (key, result.problems)
        else:
            assert getattr(result.config, key) == expected, key
    for key in known - set(data):
        assert getattr(result.config, key) == getattr(defaults, key), key
    assert len(result.problems) >= sum(1 for k, v in data.items() if k not in known or _invalid(k, v))
    if not broken:
        assert len(result.problems) == sum(
            1 for k, v in data.items() if k not in known or _invalid(k, v)
        ), result.problems
    # whatever was loaded is valid and survives a save/load round trip unchanged
    again = tmp_path / "again.toml"
    again.write_text(to_toml(result.config))
    reloaded = ConfigStore(again).load()
    assert reloaded.problems == () and reloaded.config == result.config


def _invalid(key, value) -> bool:
    try:
        validate_value(key, value)
    except ConfigError:
        return True
    return False


def fuzzed_hotkey_text(seed: int) -> str:
    rng = random.Random(seed)
    parts = ["<ctrl>", "<alt>", "<shift>", "<cmd>", "r", "F12", "<f12>", "+", "++", " ", "<", ">", "<bogus>", "é", "\x00",
             "ctrl", "", "<ctrl>+", "Alt+", "<pause>", "q+", "super+", "<65>"]
    text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 6)))
    if seed % 2 == 0:  # well-formed-looking combinations in many spellings, some of them wrong
        mods = rng.sample(["<ctrl>", "Ctrl", "control", "<alt>", "Alt", "option", "<shift>", "Shift", "<cmd>", "Super",
                           "win", "AltGr", "<alt_gr>", "<ctrl_l>", "shift_r"], rng.randint(0, 3))
        key = rng.choice(["r", "R", "F12", "<f12>", "f20", "<pause>", "Pause", "space", "<65>", "é", "1", "/",
                          "page_down", "Print_Screen", "esc", "media_next", "<bogus>", "rr", "<tab>", "Scroll Lock"])
        text = "+".join(mods + [key]) if rng.random() < 0.9 else "+".join([key] + mods)
    if seed % 7 == 0:
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 30)))
    return text


HOTKEY_SEEDS = range(300)


def test_the_hotkey_fuzz_reaches_both_outcomes():
    parsed = 0
    for seed in HOTKEY_SEEDS:
        try:
            parse_hotkey(fuzzed_hotkey_text(seed))
            parsed += 1
        except HotkeyError:
            pass
    assert 30 <= parsed <= 270, parsed  # the checks below see plenty of both


@pytest.mark.parametrize("seed", HOTKEY_SEEDS)
def test_fuzzed_hotkey_strings_give_a_clear_error_or_a_hotkey(seed):
    text = fuzzed_hotkey_text(seed)
    try:
        hotkey = parse_hotkey(text)
    except HotkeyError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
        return
    assert_bindable(hotkey)


MODIFIERS = {"ctrl", "alt", "shift", "cmd", "alt_gr"}


def assert_bindable(hotkey) -> None:
    """What a hotkey that parses must be: one key plus known modifiers, stable, usable by every backend."""
    assert set(hotkey.modifiers) <= MODIFIERS and len(set(hotkey.modifiers)) == len(hotkey.modifiers)
    assert hotkey.key and hotkey.key not in MODIFIERS
    assert list(hotkey.modifiers) == sorted(hotkey.modifiers, key=["ctrl", "alt", "shift", "cmd", "alt_gr"].index)
    assert parse_hotkey(hotkey.canonical) == hotkey  # the canonical form means the same combination
    assert len(hotkey.canonical.split("+")) == len(hotkey.modifiers) + 1
    if len(hotkey.key) == 1 and hotkey.key.isprintable():
        # a typed character needs a modifier other than Shift, or it would fire while typing
        assert set(hotkey.modifiers) - {"shift"}
    assert display_name(hotkey) and xdotool_keys(hotkey)


def test_every_fuzzed_hotkey_that_parses_binds_in_pynput(harness):
    """The real X11 backend accepts what the parser accepts (pynput needs a display: the harness's Xvfb)."""
    import json
    import subprocess

    from trayrip import hotkey_syntax

    texts = set(hotkey_syntax.PRESETS)
    texts |= {parse_hotkey(f"<ctrl>+<alt>+<{name}>").canonical for name in hotkey_syntax._NAMED_KEYS}  # every key it knows
    for seed in HOTKEY_SEEDS:
        try:
            texts.add(parse_hotkey(fuzzed_hotkey_text(seed)).canonical)
        except HotkeyError:
            pass
    code = (
        "import json, sys\n"
        "from pynput.keyboard import HotKey\n"
        "bad = []\n"
        "for text in json.load(sys.stdin):\n"
        "    try:\n"
        "        HotKey.parse(text)\n"
        "    except Exception as exc:\n"
        "        bad.append(f'{text!r}: {exc!r}')\n"
        "print(json.dumps(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], input=json.dumps(sorted(texts)), capture_output=True,
                          text=True, env=harness.env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [], done.stdout
