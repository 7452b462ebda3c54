"""What the "Recording saved" notification says about the files (controller thread; pure)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

__all__ = ["saved_body"]


def saved_body(filed: Any, paths: Sequence[Path], length: str) -> str:
    """One file: its name and folder; tracks: how many and the first names; then what was left out (ads,
    duplicates with --tracks)."""
    if len(paths) == 1:
        body = f"{paths[0].name} ({length}) in {paths[0].parent}"
    else:
        body = f"{len(paths)} tracks ({length}) in {paths[0].parent}: " + ", ".join(p.name for p in paths[:5])
    left_out = getattr(filed, "left_out", None)
    return f"{body}\n{left_out[0].upper()}{left_out[1:]}" if left_out else body
