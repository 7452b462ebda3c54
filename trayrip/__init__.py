"""trayrip: record what the computer plays (loopback capture).

The Python API lives in :mod:`trayrip.api`; the names below are re-exported
lazily so that ``import trayrip`` stays cheap and needs no sound server.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "record", "Recording", "RecordingOptions", "RecordingFailed",
    "TrayripError", "CaptureError", "FilingError", "BadArgument", "__version__",
]

_API = ("record", "Recording", "RecordingOptions", "RecordingFailed")
_ERRORS = ("TrayripError", "CaptureError", "FilingError", "BadArgument")


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    if name in _ERRORS:
        from . import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'trayrip' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy names are part of the module even before first use.
    return sorted(set(globals()) | set(__all__))
