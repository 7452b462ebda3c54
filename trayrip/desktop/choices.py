"""What the Settings menu offers: the recordable devices and the applications playing (scan threads).

Both listers ask the sound server (``pactl``) or PortAudio and may take a
moment, so the controller runs them on short-lived threads, never on the UI's.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

__all__ = ["DeviceChoice", "list_apps", "list_devices"]


@dataclass(frozen=True)
class DeviceChoice:
    """A device the menu offers: ``value`` goes into the config's ``device``."""

    value: str
    label: str


def list_apps() -> list[str]:
    """Names of the applications playing now, for "Record from" (any thread but the UI's)."""
    if not sys.platform.startswith("linux"):
        return []
    from ..capture import routing

    names: dict[str, None] = {}
    for app, binary, _pid in routing.playing_apps(routing.streams()):
        names.setdefault(app or binary, None)
    return [n for n in names if n]


def list_devices() -> list[DeviceChoice]:
    """Recordable sources for the Settings > Device menu (any thread but the UI's).

    Linux: the sound server's sources (``pactl``), monitors first -- their
    names work as ``device`` values. Elsewhere: PortAudio's input devices.
    """
    if sys.platform.startswith("linux"):
        from ..capture import pulse

        info = pulse.query()
        monitors = [s for s in info.sources if s.monitor_of]
        others = [s for s in info.sources if not s.monitor_of]
        return [DeviceChoice(s.name, s.description) for s in monitors + others]
    from ..capture.portaudio import PortAudio

    backend = PortAudio()
    try:
        return [DeviceChoice(d.name, d.name) for d in backend.devices()]
    finally:
        backend.close()
