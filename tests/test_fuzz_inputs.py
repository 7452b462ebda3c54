"""Fuzzed config files and hotkey strings: a clear message, defaults, and the user's file untouched."""
from __future__ import annotations

import random
import string

import pytest

from trayrip.config import Config, ConfigStore
from trayrip.hotkey_syntax import HotkeyError, parse_hotkey

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
    assert isinstance(result.config, Config)
    for problem in result.problems:
        assert isinstance(problem, str) and problem and "Traceback" not in problem
    assert path.read_bytes() == raw  # never rewritten behind the user's back


@pytest.mark.parametrize("seed", range(300))
def test_fuzzed_hotkey_strings_give_a_clear_error_or_a_hotkey(seed):
    rng = random.Random(seed)
    parts = ["<ctrl>", "<alt>", "<shift>", "<cmd>", "r", "F12", "<f12>", "+", "++", " ", "<", ">", "<bogus>", "é", "\x00", "ctrl", "", "<ctrl>+"]
    text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 6)))
    if seed % 7 == 0:
        text = "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 30)))
    try:
        parse_hotkey(text)
    except HotkeyError as exc:
        assert str(exc) and "\n" not in str(exc).strip()
