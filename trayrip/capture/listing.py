"""What ``trayrip devices`` shows: the sound server's sources, then PortAudio's inputs (CLI main thread).

On Linux the recording comes from a *source of the sound server* (the monitor
of the default output), opened through PortAudio's ``pulse`` device, so the
server's sources are what a user needs to see, with the one used marked.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Callable

from ..errors import CaptureError
from . import pulse
from .discovery import DeviceCatalog, loopback_device_index

__all__ = ["DeviceReport", "device_report"]


@dataclass
class DeviceReport:
    """Lines for stdout, problems for stderr, and whether recording can work."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ok: bool = True


def _source_lines(info: pulse.PulseInfo) -> list[str]:
    chosen = info.monitor_of_default_sink()
    out = [f"sound server: {info.label}", "sources (--device NAME); * = recorded by default:"]
    width = max((len(s.name) for s in info.sources), default=0)
    for s in info.sources:
        mark = "*" if chosen is not None and s.name == chosen.name else " "
        what = f"monitor of {s.monitor_of}" if s.monitor_of else "input"
        out.append(f"{mark} {s.name:<{width}}  {s.description}  ({s.channels} ch, {s.rate} Hz, {what})")
    return out


def device_report(
    catalog_factory: Callable[[], DeviceCatalog],
    *,
    platform: str = sys.platform,
    pulse_query: Callable[[], pulse.PulseInfo] = pulse.query,
) -> DeviceReport:
    """Describe what can be recorded; ``catalog_factory`` makes the PortAudio catalog (closed by the caller)."""
    report = DeviceReport()
    linux = not (platform.startswith("win") or platform == "darwin")
    if linux:
        try:
            info = pulse_query()
        except CaptureError as exc:
            report.problems.append(str(exc))
            report.ok = False
            return report  # without the server PortAudio's list only holds raw hardware that the server owns
        report.lines += _source_lines(info)
        if info.monitor_of_default_sink() is None:
            report.problems.append("the sound server has no default output whose monitor could be recorded")
            report.ok = False
    catalog = catalog_factory()
    devices = catalog.devices()
    chosen = None if linux else loopback_device_index(catalog, platform=platform)
    report.lines.append("PortAudio input devices (--device N):" if devices else "PortAudio finds no input devices")
    for d in devices:
        mark = "*" if d.index == chosen else " "
        api = f"  [{d.host_api}]" if d.host_api else ""
        report.lines.append(f"{mark} {d.index:3d}  {d.name}  ({d.max_input_channels} ch, {d.default_rate} Hz){api}")
    if linux and not any(d.name == "pulse" for d in devices):
        report.problems.append("PortAudio has no 'pulse' device: install ALSA's pulse plugin (libasound2-plugins)")
        report.ok = False
    elif not linux and chosen is None:
        report.problems.append("no loopback device found: 'trayrip record' needs --device")
    return report
