"""Pieces of the tray's tooltip and menu text (pure functions; the UI thread calls them).

Some tray hosts draw a tooltip on one line however long it is, so the whole
tooltip is bounded (:data:`TOOLTIP_LIMIT`) and long messages are shortened.
"""
from __future__ import annotations

__all__ = ["TOOLTIP_LIMIT", "clock", "short", "source_words"]

TOOLTIP_LIMIT = 160  # characters: about what fits across an 800-px screen


def clock(seconds: float) -> str:
    """``m:ss``, or ``h:mm:ss`` from an hour on."""
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def source_words(source: str, joiner: str) -> str:
    """" <joiner> <source>" (" from application 'mpv'") for a tooltip; "" when the source is not known."""
    return f" {joiner} {source}" if source else ""
