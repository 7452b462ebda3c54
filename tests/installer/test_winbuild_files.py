"""The Windows build's scripts, checked fast on Linux (the build itself: tests/windows/test_installer_windows.py).

The build is cached by its inputs, so a file the spec reads but build.sh does
not hash would give a stale setup program; and the build tools must be pinned.
"""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WIN = ROOT / "installer" / "windows"


def _build_inputs() -> list[str]:
    text = (WIN / "build.sh").read_text()
    block = re.search(r"local -a paths=\(([^)]*)\)", text)
    assert block, "build.sh: no input list (local -a paths=(...))"
    return block.group(1).split()


def test_build_cache_key_covers_what_the_spec_reads():
    inputs = _build_inputs()
    spec = (WIN / "trayrip.spec").read_text()
    assert "installer/windows/trayrip.spec" in inputs and "installer/windows/launch.py" in inputs and "launch.py" in spec
    assert "trayrip" in inputs  # the package, with trayrip/desktop/images (datas)
    assert 'ROOT / "icons"' in spec and "icons" in inputs  # the programs' icon
    assert "pyproject.toml" in inputs  # the version


def test_build_tools_are_pinned():
    recipe = (WIN / "winbuild-layer.sh").read_text()
    pins = re.search(r"PYINSTALLER=\(([^)]*)\)", recipe).group(1).split()
    assert pins and all(re.fullmatch(r"[a-z0-9-]+==[0-9.]+", p) for p in pins), pins
    assert re.search(r"INNOSETUP=innosetup@\d+\.\d+\.\d+\n", recipe)
    assert re.search(r"INNOSETUP_SHA1=[0-9a-f]{40}\n", recipe)


def test_setup_version_comes_from_the_command_line_with_the_package_version_as_default():
    iss = (WIN / "trayrip.iss").read_text()
    assert "#ifndef AppVersion" in iss and "OutputBaseFilename=trayrip-setup-{#AppVersion}" in iss
    version = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert f'#define AppVersion "{version}"' in iss
