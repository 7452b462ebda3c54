"""The wine layer's recipe installs every Windows dependency pyproject.toml names (it is keyed by the recipe only)."""
from __future__ import annotations

import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _windows_requirements() -> list[str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = []
    for dep in deps:
        req, _, marker = dep.partition(";")
        marker = marker.strip()
        if "sys_platform != 'win32'" in marker or "python_version>='3.13'" in marker.replace(" ", ""):
            continue  # not for Windows, or not for the layer's CPython 3.11
        if "python_version<'3.11'" in marker.replace(" ", ""):
            continue
        names.append(re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower())
    return names


def test_recipe_installs_each_windows_dependency():
    recipe = (ROOT / "installer" / "windows" / "wine-layer.sh").read_text().lower()
    missing = [n for n in _windows_requirements() if not re.search(rf"\b{re.escape(n)}\b", recipe)]
    assert not missing, f"installer/windows/wine-layer.sh does not install {missing}"
