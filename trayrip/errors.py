"""Exceptions with messages meant for users (stdlib only, any thread)."""
from __future__ import annotations


class TrayripError(Exception):
    """Base class: the message says what went wrong and what to do."""


class CaptureError(TrayripError):
    """The sound server, loopback device or capture stream failed."""


class FilingError(TrayripError):
    """A recording could not be written or filed where it was asked to go."""
