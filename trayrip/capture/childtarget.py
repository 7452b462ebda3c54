"""What a recorder child connects to, and where its program is (controller thread).

OS-neutral on purpose: :mod:`.discovery` imports it on every OS, while
:mod:`.pipewire` (pipes, ``fcntl``, ``termios``) is Linux-only and is
imported only when a child is started.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass

__all__ = ["TOOLS", "PipeWireTarget", "pw_record_path"]


@dataclass(frozen=True)
class PipeWireTarget:
    """What one capture stream connects to.

    ``node``: a node name or serial (``None``: no automatic link, someone else
    links ports to us, as per-application capture does); ``capture_sink``:
    record that sink's monitor rather than a source.
    """

    node: str | None
    capture_sink: bool
    description: str
    pulse_source: str | None = None  # the same thing by its Pulse name (for the parec tool)


TOOLS = ("pw-record", "parec")


def pw_record_path(tool: str = "pw-record") -> str | None:
    """The recorder program (``pw-record`` or ``parec``), if installed."""
    return shutil.which(tool)
