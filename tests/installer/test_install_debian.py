"""installer/install-debian.sh run for real, as a new Debian user would: clean HOME, then upgrade, then uninstall.

It installs into a temporary venv (``--venv``) from a copy of this checkout,
so the shared development venv is never touched. pip fetches the
dependencies (its cache is shared to keep re-runs fast). The system packages
are only checked (they are installed here already; apt does nothing).
"""
from __future__ import annotations

import configparser
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def _copy_checkout(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


@pytest.mark.timeout(1500)
def test_install_upgrade_and_uninstall_from_a_clean_home(tmp_path, harness):
    src = _copy_checkout(tmp_path / "src")
    home = tmp_path / "home"
    home.mkdir()
    if Path("/etc/skel/.profile").exists():  # what a new Debian user has
        shutil.copy("/etc/skel/.profile", home / ".profile")
    venv = tmp_path / "venv dir"  # a space, to keep the quoting honest
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "VIRTUAL_ENV", "PYTHON", "PIP_"))}
    env.update(HOME=str(home), PATH="/usr/local/bin:/usr/bin:/bin", LC_ALL="C.UTF-8")
    cache = Path.home() / ".cache" / "pip"
    env["PIP_CACHE_DIR"] = str(cache)

    def install(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(src / "installer" / "install-debian.sh"), "--venv", str(venv), *args],
                              env=env, capture_output=True, text=True, timeout=1200, cwd=tmp_path)

    first = install()
    assert first.returncode == 0, first.stdout + first.stderr
    out = first.stdout + first.stderr

    # the launcher, and exactly how to get ~/.local/bin on the PATH
    launcher = home / ".local" / "bin" / "trayrip"
    assert launcher.is_symlink() and os.readlink(launcher) == str(venv / "bin" / "trayrip")
    assert "not on this session's PATH yet" in out and 'export PATH="$HOME/.local/bin:$PATH"' in out
    assert f"--uninstall --venv {str(venv).replace(' ', chr(92) + ' ')}" in out

    # the applications-menu entry starts this installation; the icon is there at each size
    entry_path = home / ".local" / "share" / "applications" / "trayrip.desktop"
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(entry_path)
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Icon"] == "trayrip" and d["Terminal"] == "false"
    assert d["Exec"] == f'"{venv}/bin/trayrip" tray'
    for size in (16, 48, 256):
        icon = home / ".local/share/icons/hicolor" / f"{size}x{size}" / "apps" / "trayrip.png"
        with Image.open(icon) as img:
            assert img.size == (size, size) and img.mode == "RGBA"
    for path in (entry_path, venv / "bin" / "trayrip"):
        assert not path.stat().st_mode & 0o002, f"{path} is world-writable"

    # it runs from the PATH a new login gets (~/.profile adds ~/.local/bin once it exists)
    login_env = dict(env, PATH=f"{home}/.local/bin:{env['PATH']}")
    helped = subprocess.run(["trayrip", "--help"], env=login_env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert helped.returncode == 0 and "toggle" in helped.stdout and "autostart" in helped.stdout, helped.stderr
    # and on this desktop (the harness's sound server, X server and tray) the installed doctor finds it all working
    from harness import XDG_VARS

    desk_env = {k: v for k, v in harness.env.items() if k not in XDG_VARS}
    desk_env.update(HOME=str(home), PATH=login_env["PATH"], LC_ALL="C.UTF-8")
    doctor = subprocess.run(["trayrip", "doctor"], env=desk_env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert doctor.returncode == 0 and "sound server" in doctor.stdout, doctor.stdout + doctor.stderr
    on = subprocess.run(["trayrip", "autostart", "on"], env=login_env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert on.returncode == 0, on.stderr
    autostart = home / ".config" / "autostart" / "trayrip.desktop"
    assert autostart.is_file()
    settings = home / ".config" / "trayrip" / "config.toml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('format = "flac"\n')

    # re-running upgrades the installed program, even with the version number unchanged (a git pull)
    init = src / "trayrip" / "__init__.py"
    init.write_text(init.read_text() + '\nUPGRADE_MARK = "second install"\n')
    second = install()
    assert second.returncode == 0, second.stdout + second.stderr
    mark = subprocess.run([str(venv / "bin" / "python"), "-c", "import trayrip; print(trayrip.UPGRADE_MARK)"],
                          env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert mark.stdout.strip() == "second install", mark.stderr
    assert entry_path.is_file() and launcher.is_symlink()

    # uninstall: the program, launcher, menu entry, icons and autostart go; settings stay
    gone = install("--uninstall")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not venv.exists() and not launcher.exists() and not launcher.is_symlink()
    assert not entry_path.exists() and not autostart.exists()
    assert not list((home / ".local/share/icons").rglob("trayrip.png"))
    assert settings.read_text() == 'format = "flac"\n'
    again = install("--uninstall")
    assert again.returncode == 0 and "nothing to remove" in again.stdout, again.stdout + again.stderr
