"""trayrip: record what the computer plays (loopback capture).

The Python API lives in :mod:`trayrip.api`; the names below are re-exported
lazily so that ``import trayrip`` stays cheap and needs no sound server.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["record", "Recording", "RecordingOptions", "TrayripError", "__version__"]


def __getattr__(name: str):
    if name in ("record", "Recording", "RecordingOptions"):
        from . import api

        return getattr(api, name)
    if name == "TrayripError":
        from .errors import TrayripError

        return TrayripError
    raise AttributeError(name)
