"""The Windows setup program under Wine: install, run the installed programs, upgrade, uninstall.

``installer/windows/test-wine.sh`` builds the setup programs first
(``installer/windows/build.sh``, cached by what goes into them) and passes
them in ``TRAYRIP_SETUP`` (the checkout's version) and ``TRAYRIP_SETUP_NEWER``
(the same bundle as a newer version). Without them every test here fails.

The tests are one life cycle, in file order, on one Wine prefix: install for
the current user with the autostart task, record with the installed CLI, the
installed tray app with its hotkey, upgrade, uninstall.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest
from test_tray_icon_windows import focused_wine_window, hotkey, icon_pixels, ink_share, red_share  # noqa: F401
from winharness import linux_path, wait_until
from wintools import peak_frequency, read, write_tone

APP_ID = "{ECD5A3AC-58B5-4C65-99A8-62E922D6C406}_is1"  # trayrip.iss AppId + Inno Setup's suffix
UNINSTALL_KEY = rf"HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\{APP_ID}"
RUN_KEY = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
SILENT = ["/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART", "/CURRENTUSER", "/NOCANCEL"]
# What the bundle must hold besides Python: the tray icons, PortAudio with
# WASAPI loopback, libsndfile and ffmpeg (paths inside the installed folder).
REQUIRED = [
    "trayrip.exe",
    "trayrip-cli.exe",
    *(f"_internal/trayrip/desktop/images/{s}.png" for s in ("idle", "recording", "finishing", "error", "armed")),
    "_internal/_portaudiowpatch.cp311-win_amd64.pyd",
    "_internal/_soundfile_data/libsndfile_*.dll",
    "_internal/imageio_ffmpeg/binaries/ffmpeg-*.exe",
]
# Build- and test-only packages that must not be in it (as files or as modules inside the programs).
FORBIDDEN = {"PyInstaller", "pytest", "_pytest", "setuptools", "pkg_resources", "pip", "wintools", "winharness"}


def pe_subsystem(exe: Path) -> int:
    """The PE optional header's Subsystem: 2 = Windows GUI (no console window), 3 = console."""
    data = exe.read_bytes()[:4096]
    pe = int.from_bytes(data[0x3C:0x40], "little")
    assert data[:2] == b"MZ" and data[pe:pe + 4] == b"PE\0\0", f"{exe.name} is not a Windows program"
    return int.from_bytes(data[pe + 0x5C:pe + 0x5E], "little")


def setup_exe(var: str) -> Path:
    value = os.environ.get(var)
    assert value, f"{var} is not set: run the Windows suite through installer/windows/test-wine.sh (it builds the setup)"
    path = Path(value)
    assert path.is_file(), f"{var}={value}: no such setup program"
    return path


@pytest.fixture(scope="module")
def life(wine):
    """The state the life cycle shares: the Music folder, paths, the tray process."""
    name = "Music-" + uuid.uuid4().hex[:8]
    win = f"C:\\users\\root\\{name}"
    out = wine.reg("add", r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders",
                   "/v", "My Music", "/t", "REG_EXPAND_SZ", "/d", win, "/f")
    assert out.returncode == 0, out.stderr
    music = linux_path(win)
    music.mkdir(parents=True, exist_ok=True)
    user = wine.user_dir()
    state = {
        "music": music,
        "app": user / "AppData" / "Local" / "Programs" / "trayrip",
        "lnk": user / "AppData" / "Roaming" / "Microsoft" / "Windows" / "Start Menu" / "Programs" / "trayrip.lnk",
        "config": user / "AppData" / "Local" / "trayrip" / "config.toml",
        "procs": [],
    }
    yield state
    for proc in state["procs"]:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    shutil.rmtree(music, ignore_errors=True)


def reg_value(wine, key: str, name: str) -> str | None:
    """A registry value's data, or None when the key or value is missing."""
    out = wine.reg("query", key, "/v", name)
    if out.returncode:
        return None
    for line in out.stdout.splitlines():
        parts = line.strip().split(None, 2)
        if len(parts) == 3 and parts[0].lower() == name.lower():
            return parts[2]
    return None


def cli(wine, life, *args: str, timeout: float = 60):
    return wine.wine_cmd([str(life["app"] / "trayrip-cli.exe"), *args], timeout=timeout)


def filed(life) -> list[Path]:
    p = life["music"] / "playlists"
    return sorted(f for f in p.iterdir() if not f.name.startswith(".")) if p.is_dir() else []


def recording(life) -> bool:
    p = life["music"] / "playlists"
    return p.is_dir() and any(f.stat().st_size > 48000 for f in p.glob(".*.part"))


def install(wine, setup: Path, *extra: str) -> None:
    t0 = time.monotonic()
    out = wine.wine_cmd([str(setup), *SILENT, *extra], timeout=180)
    assert out.returncode == 0, f"setup exited with {out.returncode}: {out.stderr[-2000:]}"
    print(f"\n{setup.name}: silent install took {time.monotonic() - t0:.1f} s (Wine, indicative)")


def test_silent_install_for_the_current_user(wine, life):
    setup = setup_exe("TRAYRIP_SETUP")
    life["config"].parent.mkdir(parents=True, exist_ok=True)
    # Settings from before (kept by the install, the upgrade and the uninstall); FLAC proves the tray app reads them.
    life["config"].write_text('format = "flac"\nnotifications = false\n')
    install(wine, setup, "/TASKS=autostart")
    app = life["app"]
    for pattern in REQUIRED:
        assert list(app.glob(pattern)), f"the installed program lacks {pattern} (a file the spec leaves out?)"
    assert pe_subsystem(app / "trayrip.exe") == 2, "trayrip.exe (the tray app) would open a console window"
    assert pe_subsystem(app / "trayrip-cli.exe") == 3, "trayrip-cli.exe is not a console program"
    internal = {p.name for p in (app / "_internal").iterdir()}
    assert not internal & FORBIDDEN, f"build/test-only packages in the bundle: {internal & FORBIDDEN}"
    # build.sh puts the list of the Python modules inside the programs beside the setup program.
    modules = (setup.parent / "trayrip-modules.txt").read_text().split()
    assert "trayrip.desktop.app" in modules and "pyaudiowpatch" in modules
    packed = {m.split(".")[0] for m in modules} & FORBIDDEN
    assert not packed, f"build/test-only modules inside the programs: {packed}"
    size = sum(f.stat().st_size for f in app.rglob("*") if f.is_file())
    print(f"\nsetup program {setup.stat().st_size / 1e6:.1f} MB, installed {size / 1e6:.1f} MB")
    assert life["lnk"].is_file(), "no Start menu entry"
    assert b"trayrip.exe" in life["lnk"].read_bytes()
    version = setup.stem.removeprefix("trayrip-setup-")
    assert reg_value(wine, UNINSTALL_KEY, "DisplayVersion") == version
    uninstaller = reg_value(wine, UNINSTALL_KEY, "UninstallString")
    assert uninstaller and uninstaller.strip('"').lower().endswith("unins000.exe"), uninstaller
    assert linux_path(uninstaller.strip('"')).is_file()
    run = reg_value(wine, RUN_KEY, "trayrip")
    assert run and "trayrip.exe" in run and run.endswith("tray"), run
    assert linux_path(run.split('"')[1]) == app / "trayrip.exe"
    out = cli(wine, life, "--version")
    assert out.returncode == 0 and out.stdout.strip() == "trayrip 0.1.0", (out.stdout, out.stderr)


def test_installed_cli_records_a_tone_through_wasapi_loopback(wine, life, tmp_path):
    tone = write_tone(tmp_path / "tone.wav", 1000, 1.5)
    # MP3: made by the bundled ffmpeg (without it trayrip would file WAV).
    proc = wine.spawn_wine([str(life["app"] / "trayrip-cli.exe"), "record", "-d", "4", "-q", "--format", "mp3"])
    life["procs"].append(proc)
    wait_until(lambda: proc.poll() is not None or recording(life), 60, "the installed CLI to capture")
    assert proc.poll() is None, proc.stderr_text()
    wine.play(tone)
    out, err = proc.finish(60)
    assert proc.returncode == 0, err
    (done,) = filed(life)
    assert done.suffix == ".mp3", f"not encoded by the bundled ffmpeg: {done.name}\n{err}"
    data, rate = read(done)
    assert abs(peak_frequency(data, rate) - 1000) < 3
    # the tone and trayrip's pads (0.1 + 0.3 s); MP3 priming/padding and Wine's loopback under load add a little
    assert abs(len(data) / rate - (0.1 + 1.5 + 0.3)) < 0.15, "not trimmed to the tone and its pads"


def test_installed_tray_app_shows_its_icon_and_the_hotkey_records(wine, life, focused_wine_window, tmp_path):  # noqa: F811
    t0 = time.monotonic()
    tray = wine.spawn_wine([str(life["app"] / "trayrip.exe")])  # what the Start menu entry starts
    life["procs"].append(tray)
    idle = wait_until(lambda: tray.poll() is not None or (lambda p: p if ink_share(p) > 0.1 else None)(icon_pixels(wine)),
                      60, "the installed tray app's icon")
    assert tray.poll() is None, tray.stderr_text()
    print(f"\ninstalled trayrip.exe: icon in the tray after {time.monotonic() - t0:.1f} s (Wine, indicative)")
    assert red_share(idle) < 0.02
    before = len(filed(life))
    hotkey(wine)
    wait_until(lambda: recording(life), 30, "the hotkey to start a recording")
    wait_until(lambda: red_share(icon_pixels(wine)) > 0.1, 30, "the icon to turn red")
    wine.play(write_tone(tmp_path / "t.wav", 900, 1.0))
    hotkey(wine)
    wait_until(lambda: len(filed(life)) > before, 60, "the hotkey to stop and file")
    newest = max(filed(life), key=lambda p: p.stat().st_mtime)
    assert newest.suffix == ".flac", f"the tray app did not read its settings (format = flac): {newest.name}"
    # Loudness measured while recording (scipy's sosfilt kernel in the bundle) became a ReplayGain tag.
    assert b"REPLAYGAIN_TRACK_GAIN=" in newest.read_bytes()[:1 << 16], "no ReplayGain tag: the loudness meter failed"
    data, rate = read(newest)
    assert abs(peak_frequency(data, rate) - 900) < 3
    # Ended so that the upgrade replaces files no process holds (there is no quit command).
    wine.kill(tray)


def test_upgrade_keeps_settings_and_recordings(wine, life):
    newer = setup_exe("TRAYRIP_SETUP_NEWER")
    kept = {p: p.read_bytes() for p in filed(life)}
    assert len(kept) == 2
    settings = life["config"].read_text()
    install(wine, newer)
    assert reg_value(wine, UNINSTALL_KEY, "DisplayVersion") == newer.stem.removeprefix("trayrip-setup-")
    assert {p: p.read_bytes() for p in filed(life)} == kept
    assert life["config"].read_text() == settings
    assert cli(wine, life, "--version").returncode == 0
    # One entry still, and the Run value of the first install is still there (no task change asked).
    assert life["lnk"].is_file() and reg_value(wine, RUN_KEY, "trayrip")


def test_silent_uninstall_removes_the_program_and_keeps_the_user_data(wine, life):
    uninstaller = reg_value(wine, UNINSTALL_KEY, "UninstallString")
    assert uninstaller
    kept = {p: p.read_bytes() for p in filed(life)}
    t0 = time.monotonic()
    out = wine.wine_cmd([str(linux_path(uninstaller.strip('"'))), "/VERYSILENT", "/SUPPRESSMSGBOXES", "/NORESTART"],
                        timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    # The uninstaller runs on from a copy of itself after the started one exits.
    wait_until(lambda: not life["app"].exists() and reg_value(wine, UNINSTALL_KEY, "DisplayVersion") is None, 120,
               "the uninstaller to remove the program folder and its registry entry")
    print(f"\nsilent uninstall took {time.monotonic() - t0:.1f} s (Wine, indicative)")
    assert not life["lnk"].exists(), "the Start menu entry is still there"
    assert reg_value(wine, RUN_KEY, "trayrip") is None, "the Run value is still there"
    assert {p: p.read_bytes() for p in filed(life)} == kept, "recordings were lost"
    assert life["config"].is_file(), "the settings were removed"
