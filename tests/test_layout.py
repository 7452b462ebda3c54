"""The package layout: imports flow one way along the data path, and each
third-party I/O library is imported in exactly one module."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "trayrip"

# What each part may import from trayrip (besides itself). Top-level helper
# modules that everything may use: errors, logsetup, the package root.
SHARED = {"errors", "logsetup", "sessionbus", ""}
ALLOWED = {
    "wav": set(),
    "capture": {"wav"},
    "recording": {"capture", "wav"},
    "filing": {"recording", "capture", "wav"},
    "nowplaying": {"recording", "capture", "wav"},  # beside filing: the player's track changes
    "playertracks": {"nowplaying", "filing", "recording", "capture", "wav"},  # the glue for --tracks
    "api": {"playertracks", "nowplaying", "filing", "recording", "capture", "wav"},
    "hotkey_syntax": set(),
    "config": {"api", "filing", "recording", "capture", "wav", "hotkey_syntax"},
    "schedule": {"config"},  # schedules are data: they carry recording settings, never record themselves
    "desktop": {"config", "schedule", "api", "nowplaying", "filing", "recording", "capture", "wav", "hotkey_syntax"},
}
ONE_HOME = {
    "pyaudio": "capture/portaudio.py",
    "pyaudiowpatch": "capture/portaudio.py",
    "pystray": "desktop/tray.py",
    "pynput": "desktop/hotkeys.py",
    "jeepney": "sessionbus.py",
    "imageio_ffmpeg": "filing/bundled_ffmpeg.py",
}


def _part(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path):
    """(trayrip part or None, top-level name) for every import in ``path``."""
    tree = ast.parse(path.read_text(), str(path))
    pkg = list(path.relative_to(PKG).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                target = base + (node.module.split(".") if node.module else [])
                if not node.module:  # from . import x
                    for alias in node.names:
                        yield "trayrip", (target + [alias.name])
                else:
                    yield "trayrip", target
            elif node.module and node.module.split(".")[0] == "trayrip":
                yield "trayrip", node.module.split(".")[1:]
            elif node.module:
                yield "ext", [node.module.split(".")[0]]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                head = alias.name.split(".")
                if head[0] == "trayrip":
                    yield "trayrip", head[1:]
                else:
                    yield "ext", [head[0]]


MODULES = sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_flow_down_the_data_path(path):
    part = _part(path)
    if part not in ALLOWED:  # cli, __main__, __init__: the top may use anything
        return
    for kind, target in _imports(path):
        if kind != "trayrip" or not target:
            continue
        other = target[0]
        if other == part or other in SHARED or other == "__version__":
            continue
        assert other in ALLOWED[part], f"{path.relative_to(PKG)} imports trayrip.{'.'.join(target)}: {part} must not import {other}"


def test_each_io_library_has_one_home():
    seen: dict[str, set[str]] = {}
    for path in MODULES:
        for kind, target in _imports(path):
            if kind == "ext" and target[0] in ONE_HOME:
                seen.setdefault(target[0], set()).add(str(path.relative_to(PKG)))
    for lib, homes in seen.items():
        assert homes == {ONE_HOME[lib]}, f"{lib} imported in {sorted(homes)}"
    assert {"pyaudio", "pystray", "pynput"} <= set(seen)


def test_every_subpackage_says_what_it_owns():
    for sub in ("capture", "recording", "wav", "filing", "nowplaying", "schedule", "desktop"):
        doc = ast.get_docstring(ast.parse((PKG / sub / "__init__.py").read_text()))
        assert doc and "never" in doc.lower() or "nothing below" in (doc or "").lower(), sub


def test_no_module_shadows_a_public_name():
    """``trayrip.record`` is the API function: a subpackage of that name would replace it once imported."""
    import trayrip

    for name in trayrip.__all__:
        assert not (PKG / name).exists() and not (PKG / f"{name}.py").exists(), name
    import trayrip.recording.recorder  # noqa: F401  (the stage package next to the API name)

    assert callable(trayrip.record)
