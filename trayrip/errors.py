"""Exceptions with messages meant for users (stdlib only, any thread)."""
from __future__ import annotations


class TrayripError(Exception):
    """Base class: the message says what went wrong and what to do."""


class CaptureError(TrayripError):
    """The sound server, loopback device or capture stream failed."""


class FilingError(TrayripError):
    """A recording could not be written or filed where it was asked to go."""


class FolderNotWritable(FilingError):
    """The output folder takes no new files. ``str()`` gives the command-line hint, ``tray_message`` the tray's."""

    def __init__(self, folder, reason: str):
        self.folder, self.reason = folder, reason
        super().__init__(f"cannot write to {folder}: {reason}; choose another folder with --folder")

    @property
    def tray_message(self) -> str:
        return f"cannot write to {self.folder}: {self.reason}; choose another one in Settings \N{RIGHTWARDS ARROW} Output folder"


class BadArgument(TrayripError, ValueError):
    """A value given by the caller is out of range or does not fit (CLI exit status 2).

    Also a ``ValueError``, so code that caught that before keeps working.
    """
