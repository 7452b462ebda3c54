"""The applications-menu entry and icon on Linux (XDG): written by the installer.

``python -m trayrip.desktop.menu_entry install --exec /path/to/trayrip``
writes ``$XDG_DATA_HOME/applications/trayrip.desktop`` (default
``~/.local/share``) and the idle icon as
``icons/hicolor/<N>x<N>/apps/trayrip.png`` at the usual sizes, drawn by
:mod:`.icons`. ``uninstall`` removes them. Run once by
``installer/install-debian.sh`` (main thread; no display needed).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .autostart import DESKTOP_ID, write_atomic, desktop_entry
from .icons import draw_base
from .state import State

__all__ = ["ICON_SIZES", "data_home", "install", "uninstall", "main"]

ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


def data_home() -> Path:
    """``$XDG_DATA_HOME`` or ``~/.local/share``, computed when called."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _paths(base: Path) -> tuple[Path, list[Path]]:
    entry = base / "applications" / f"{DESKTOP_ID}.desktop"
    icons = [base / "icons" / "hicolor" / f"{n}x{n}" / "apps" / f"{DESKTOP_ID}.png" for n in ICON_SIZES]
    return entry, icons


def install(command: list[str], base: Path | None = None) -> list[Path]:
    """Write the menu entry (starting ``command``) and the icons; returns what was written."""
    entry, icons = _paths(base or data_home())
    for size, path in zip(ICON_SIZES, icons):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        draw_base(State.IDLE, size).save(tmp, "PNG")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    write_atomic(entry, desktop_entry(command).encode())
    return [entry, *icons]


def uninstall(base: Path | None = None) -> list[Path]:
    """Remove the menu entry and icons; returns what was there."""
    entry, icons = _paths(base or data_home())
    removed = []
    for path in (entry, *icons):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trayrip.desktop.menu_entry", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("install", "uninstall"))
    parser.add_argument("--exec", dest="command", default=None, metavar="PATH", help="the trayrip program to start")
    args = parser.parse_args(argv)
    if args.action == "install":
        command = [str(Path(args.command).absolute()) if args.command else sys.executable]
        if not args.command:
            command += ["-m", "trayrip"]
        for path in install([*command, "tray"]):
            print(path)
    else:
        for path in uninstall():
            print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
