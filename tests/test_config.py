"""Settings file: defaults, validation naming the key, atomic safe saves, broken files kept."""
from __future__ import annotations

import datetime as dt
import os
import stat
import sys
from pathlib import Path

import pytest

from trayrip.config import (
    Config,
    ConfigError,
    ConfigStore,
    config_path,
    to_toml,
    updated,
    validate_value,
)
from trayrip.hotkey_syntax import DEFAULT_HOTKEY

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXED = dt.datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture
def store(tmp_path) -> ConfigStore:
    return ConfigStore(tmp_path / "cfg" / "config.toml", clock=lambda: FIXED)


def test_config_path_is_computed_when_called(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "one"))
    first = config_path()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "two"))
    second = config_path()
    if sys.platform.startswith("linux"):
        assert first == tmp_path / "one" / "trayrip" / "config.toml"
        assert second == tmp_path / "two" / "trayrip" / "config.toml"
    assert ConfigStore().path == second


def test_importing_config_reads_nothing(tmp_path):
    import subprocess

    code = "import sys, trayrip.config, trayrip.desktop.controller; print(sorted(m for m in ('platformdirs', 'pystray', 'pynput') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_file_means_defaults_and_nothing_is_written(store):
    result = store.load()
    assert result.config == Config() and result.problems == () and not result.exists
    assert not store.path.exists() and not store.path.parent.exists()


def test_defaults():
    c = Config()
    assert c.hotkey == DEFAULT_HOTKEY == "<ctrl>+<alt>+<shift>+r"
    assert (c.folder, c.format, c.device, c.trim, c.threshold_db, c.split, c.name_template, c.notifications) == (
        "", "wav", "", True, -50.0, False, "", True,
    )


def test_round_trip_keeps_every_value(store):
    cfg = Config(
        hotkey="<ctrl>+<shift>+<f12>",
        folder='~/Mus "ic"\\x\tü',
        format="flac",
        device="alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
        trim=False,
        threshold_db=-42.5,
        split=True,
        name_template="{date} {title}\n",
        notifications=False,
        rate=96000,
        bits=24,
        min_track=12.0,
    )
    assert store.save(cfg) is None
    again = ConfigStore(store.path).load()
    assert again.problems == () and again.config == cfg


def test_written_file_is_commented_valid_toml_with_every_key():
    text = to_toml(Config())
    data = tomllib.loads(text)
    assert set(data) == set(Config.__dataclass_fields__)
    assert text.count("\n# ") >= len(data) - 1


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600), (0o000, 0o664), (0o002, 0o664)])
def test_saved_mode_follows_umask_but_is_never_world_writable(store, umask, expected):
    old = os.umask(umask)
    try:
        store.save(Config())
    finally:
        os.umask(old)
    mode = stat.S_IMODE(store.path.stat().st_mode)
    assert mode == expected
    assert not mode & stat.S_IWOTH


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_an_existing_files_mode_is_kept(store):
    store.save(Config())
    os.chmod(store.path, 0o600)
    store.save(Config(format="flac"))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    os.chmod(store.path, 0o666)  # someone made it world-writable: saving fixes that
    store.save(Config(format="mp3"))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o664


def test_save_is_atomic_and_leaves_no_temp_files(store):
    store.save(Config())
    store.save(Config(format="ogg"))
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["config.toml"]


def test_invalid_toml_gives_defaults_and_keeps_the_file(store):
    store.path.parent.mkdir(parents=True)
    original = b'format = "flac"\nhotkey = <ctrl>+r\n'
    store.path.write_bytes(original)
    result = store.load()
    assert result.config == Config()
    assert len(result.problems) == 1
    assert "not valid TOML" in result.problems[0] and str(store.path) in result.problems[0]
    assert "kept" in result.problems[0]
    assert store.path.read_bytes() == original
    assert store.unclean


def test_saving_over_a_broken_file_keeps_it_aside_first(store):
    store.path.parent.mkdir(parents=True)
    original = b"this is [not toml\n"
    store.path.write_bytes(original)
    store.load()
    note = store.save(Config(format="flac"))
    kept = store.path.with_name("config.toml.broken-20260102-030405")
    assert kept.read_bytes() == original
    assert note and kept.name in note
    assert ConfigStore(store.path).load().config == Config(format="flac")
    # clean now: the next save replaces the file without another copy
    assert store.save(Config(format="mp3")) is None
    assert sorted(p.name for p in store.path.parent.iterdir()) == ["config.toml", kept.name]


def test_a_second_broken_copy_never_overwrites_the_first(store):
    store.path.parent.mkdir(parents=True)
    store.path.write_text("broken one = [\n")
    store.load()
    store.save(Config())
    store.path.write_text("broken two = [\n")
    store.load()
    store.save(Config())
    copies = sorted(p for p in store.path.parent.iterdir() if ".broken-" in p.name)
    assert [p.read_text() for p in copies] == ["broken one = [\n", "broken two = [\n"]


def test_bad_values_fall_back_per_key_and_name_the_key(store):
    store.path.parent.mkdir(parents=True)
    store.path.write_text(
        'format = "aiff"\n'
        'threshold_db = 5\n'
        'trim = "yes"\n'
        'hotkey = "<ctrl>+<nope>"\n'
        'folder = "~/Rec"\n'
        "split = true\n"
        "colour = 3\n"
    )
    result = store.load()
    assert result.config == Config(folder="~/Rec", split=True)
    text = "\n".join(result.problems)
    for key in ("format", "threshold_db", "trim", "hotkey", "colour"):
        assert f"{key}" in text
    assert "'aiff' is not one of wav, flac, mp3, ogg, opus" in text
    assert "unknown setting 'colour'" in text
    assert "using the default '<ctrl>+<alt>+<shift>+r'" in text
    assert store.unclean  # and so the next save keeps it aside
    store.save(result.config)
    assert any(".broken-" in p.name for p in store.path.parent.iterdir())


def test_non_utf8_file(store):
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b'folder = "\xff\xfe"\n')
    result = store.load()
    assert result.config == Config() and "UTF-8" in result.problems[0]


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("hotkey", "r", "hotkey:"),
        ("format", "wma", "format:"),
        ("format", 3, "format:"),
        ("threshold_db", -121, "threshold_db:"),
        ("threshold_db", float("nan"), "threshold_db:"),
        ("threshold_db", True, "threshold_db:"),
        ("trim", 1, "trim: must be true or false"),
        ("notifications", "no", "notifications:"),
        ("rate", 500, "rate:"),
        ("rate", 44100.0, "rate:"),
        ("bits", 8, "bits: 8 must be 16 or 24"),
        ("folder", 3, "folder: must be a string"),
        ("name_template", "{date", "name_template:"),
        ("min_track", -1, "min_track:"),
        ("nonsense", 1, "unknown setting 'nonsense'"),
    ],
)
def test_validation_messages_name_the_key(key, value, message):
    with pytest.raises(ConfigError) as info:
        validate_value(key, value)
    assert message in str(info.value)


def test_values_are_normalised():
    assert validate_value("hotkey", "Ctrl+Alt+R") == "<ctrl>+<alt>+r"
    assert validate_value("format", "FLAC") == "flac"
    assert validate_value("threshold_db", -40) == -40.0
    assert validate_value("device", 7) == "7"
    assert validate_value("device", "  pulse  ") == "pulse"
    assert updated(Config(), "trim", False) == Config(trim=False)


def test_recording_options_mapping(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    opts = Config(
        folder="~/Rec", format="flac", device="mon", trim=False, threshold_db=-33.0, split=True,
        name_template="{title}", rate=44100, bits=24, min_track=10.0,
    ).recording_options()
    assert opts.folder == tmp_path / "Rec"
    assert (opts.format, opts.device, opts.trim, opts.split, opts.template) == ("flac", "mon", False, True, "{title}")
    assert (opts.rate, opts.bits, opts.min_track) == (44100, 24, 10.0)
    assert opts.silence.threshold_db == -33.0
    d = Config().recording_options()
    assert (d.folder, d.device, d.rate, d.template, d.output) == (None, None, None, None, None)
    assert (d.tracks, d.keep_partial, d.remote_art) == (False, True, False)  # remote art is off unless turned on
    t = Config(tracks=True, keep_partial=False, remote_art=True).recording_options()
    assert (t.tracks, t.keep_partial, t.remote_art) == (True, False, True)
    with pytest.raises(ConfigError, match="tracks"):
        validate_value("tracks", "yes")


def test_changed_on_disk(store):
    assert not store.changed_on_disk()
    store.save(Config())
    assert not store.changed_on_disk()
    st = store.path.stat()
    store.path.write_text('format = "mp3"\n')
    os.utime(store.path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert store.changed_on_disk()
    assert store.load().config.format == "mp3"
    assert not store.changed_on_disk()


def test_ensure_exists_writes_defaults_only_when_missing(store):
    store.ensure_exists(Config(format="opus"))
    assert store.load().config.format == "opus"
    store.ensure_exists(Config(format="wav"))
    assert store.load().config.format == "opus"


def test_save_into_an_unwritable_place_raises_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = ConfigStore(blocker / "sub" / "config.toml")
    with pytest.raises(ConfigError, match="cannot create"):
        bad.save(Config())
    assert isinstance(Path(bad.path), Path)


def test_collector_settings():
    from trayrip.config import Config, ConfigError, validate_value

    assert validate_value("duplicates", "keep-longer") == "keep-longer"
    with pytest.raises(ConfigError, match="duplicates"):
        validate_value("duplicates", "newest")
    for key in ("replaygain", "skip_ads", "app_muted"):
        with pytest.raises(ConfigError, match=key):
            validate_value(key, "yes")
    defaults = Config().recording_options()
    assert defaults.replaygain and defaults.skip_ads and defaults.duplicates == "keep-both" and not defaults.muted
    opts = Config(replaygain=False, skip_ads=False, duplicates="skip", app="mpv", app_muted=True).recording_options()
    assert not opts.replaygain and not opts.skip_ads and opts.duplicates == "skip" and opts.muted
    assert not Config(app_muted=True).recording_options().muted  # muted means nothing without an app
    assert validate_value("normalize", False) is False and validate_value("normalize", "album") == "album"
    with pytest.raises(ConfigError, match="normalize"):
        validate_value("normalize", "loud")
    assert Config(normalize="track").recording_options().normalize == "track"
    assert Config().recording_options().normalize is None
