"""Choosing what to record, per OS (controller thread; no PortAudio import here).

* Linux: the monitor of the *default sink*, asked of the sound server at the
  start of each recording. On PipeWire it is recorded natively by a
  ``pw-record`` child (:func:`plan_pipewire`); on PulseAudio (or with
  ``TRAYRIP_CAPTURE=portaudio``) through ALSA's ``pulse`` device with
  ``PULSE_SOURCE`` naming the monitor.
* Windows: PyAudioWPatch's default WASAPI loopback device.
* macOS: a virtual loopback device (BlackHole and friends) found by name.

The device list comes from a :class:`DeviceCatalog` so all of this is
unit-tested with fakes.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable, Protocol

from ..errors import CaptureError
from . import pulse
from .base import AudioFormat, DeviceInfo
from .childtarget import PipeWireTarget, pw_record_path

__all__ = [
    "CapturePlan", "DeviceCatalog", "PipeWirePlan", "plan_capture", "plan_pipewire", "is_pipewire",
    "app_recorder_tool",
    "MAC_LOOPBACK_NAMES", "loopback_device_index",
]

MAC_LOOPBACK_NAMES = ("BlackHole", "Loopback Audio", "Soundflower", "VB-Cable", "Background Music")


@dataclass(frozen=True)
class CapturePlan:
    """Everything needed to open one capture stream."""

    device_index: int
    format: AudioFormat
    description: str
    env: dict[str, str] = field(default_factory=dict)  # set around stream open (PULSE_SOURCE)


class DeviceCatalog(Protocol):
    def devices(self) -> list[DeviceInfo]:
        """Input devices (max_input_channels > 0)."""

    def default_wasapi_loopback(self) -> DeviceInfo | None:
        """Windows only: the loopback twin of the default output, else None."""


def _width(bits: int) -> int:
    if bits not in (16, 24):
        raise CaptureError(f"--bits must be 16 or 24, not {bits}")
    return bits // 8


def _format(rate: int, channels: int, bits: int) -> AudioFormat:
    try:
        return AudioFormat(int(rate), int(channels), _width(bits))
    except ValueError as exc:
        raise CaptureError(str(exc)) from None


def _pulse_device(devices: list[DeviceInfo]) -> DeviceInfo:
    # Only ALSA's pulse PCM honours PULSE_SOURCE; "default" may be routed elsewhere and record a microphone.
    for d in devices:
        if d.name == "pulse":
            return d
    raise CaptureError(
        "PortAudio has no 'pulse' device, so it cannot reach PulseAudio/PipeWire: "
        "install ALSA's pulse plugin (Debian/Ubuntu: libasound2-plugins)"
    )


def _match_device(devices: list[DeviceInfo], spec: str) -> DeviceInfo:
    if spec.strip().lstrip("-").isdigit():
        index = int(spec)
        for d in devices:
            if d.index == index:
                return d
        raise CaptureError(f"no input device with index {index}; see 'trayrip devices'")
    exact = [d for d in devices if d.name == spec]
    if exact:
        return exact[0]
    hits = [d for d in devices if spec.lower() in d.name.lower()]
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise CaptureError(f"no input device matches {spec!r}; see 'trayrip devices'")
    names = ", ".join(repr(d.name) for d in hits[:5])
    raise CaptureError(f"{spec!r} matches several input devices ({names}); give more of the name or its index")


def _generic_plan(dev: DeviceInfo, rate: int | None, bits: int) -> CapturePlan:
    channels = dev.max_input_channels if dev.is_loopback else min(2, dev.max_input_channels)
    return CapturePlan(dev.index, _format(rate or dev.default_rate, channels, bits), dev.name)


def _pulse_plan(devices, src: pulse.PulseSource, rate: int | None, bits: int) -> CapturePlan:
    dev = _pulse_device(devices)
    label = f"{src.description} ({src.name})"
    return CapturePlan(dev.index, _format(rate or src.rate, src.channels, bits), label, {"PULSE_SOURCE": src.name})


def _linux_plan(catalog, device, rate, bits, pulse_query) -> CapturePlan:
    devices = catalog.devices()
    if device is None:
        info = pulse_query()
        mon = info.monitor_of_default_sink()
        if mon is None:
            raise CaptureError(
                "the sound server has no default output (sink) whose monitor could be recorded; "
                "choose an output device in your sound settings, or pass --device"
            )
        return _pulse_plan(devices, mon, rate, bits)
    spec = str(device)
    if not spec.strip().lstrip("-").isdigit():
        try:
            info = pulse_query()
        except CaptureError:
            info = None
        if info is not None:
            named = info.source(spec) or next(
                (s for s in info.sources if spec.lower() in s.description.lower() or spec.lower() in s.name.lower()),
                None,
            )
            if named is not None and not any(d.name == spec for d in devices):
                return _pulse_plan(devices, named, rate, bits)
    return _generic_plan(_match_device(devices, spec), rate, bits)


def _windows_plan(catalog, device, rate, bits) -> CapturePlan:
    if device is not None:
        return _generic_plan(_match_device(catalog.devices(), str(device)), rate, bits)
    dev = catalog.default_wasapi_loopback()
    if dev is None:
        raise CaptureError(
            "no WASAPI loopback device for the default output: check that an output device is enabled "
            "in Sound settings (and that PyAudioWPatch is installed), or pass --device"
        )
    return _generic_plan(dev, rate, bits)


def _mac_plan(catalog, device, rate, bits) -> CapturePlan:
    devices = catalog.devices()
    if device is not None:
        return _generic_plan(_match_device(devices, str(device)), rate, bits)
    for wanted in MAC_LOOPBACK_NAMES:
        for d in devices:
            if wanted.lower() in d.name.lower():
                return _generic_plan(d, rate, bits)
    raise CaptureError(
        "macOS has no built-in loopback device: install BlackHole ('brew install blackhole-2ch'), "
        "make a Multi-Output Device with it and your speakers in Audio MIDI Setup, "
        "then run trayrip again (or pass --device NAME)"
    )


def plan_capture(
    catalog: DeviceCatalog,
    *,
    device: str | int | None = None,
    rate: int | None = None,
    bits: int = 16,
    platform: str = sys.platform,
    pulse_query: Callable[[], pulse.PulseInfo] = pulse.query,
) -> CapturePlan:
    """Decide which device to open, in which format; raises CaptureError with advice."""
    _width(bits)
    if platform.startswith("win"):
        return _windows_plan(catalog, device, rate, bits)
    if platform == "darwin":
        return _mac_plan(catalog, device, rate, bits)
    return _linux_plan(catalog, device, rate, bits, pulse_query)


# Which child records on PipeWire unless TRAYRIP_CAPTURE says otherwise
# ("pw-record", "parec" or "portaudio"); chosen by bench/bench_pipewire.py.
DEFAULT_PIPEWIRE_TOOL = "pw-record"


@dataclass(frozen=True)
class PipeWirePlan:
    """A native PipeWire capture: what to connect to, in which format."""

    format: AudioFormat
    target: PipeWireTarget
    tool: str = "pw-record"


def is_pipewire(info: pulse.PulseInfo) -> bool:
    """True when the Pulse server is pipewire-pulse ("PulseAudio (on PipeWire 0.3.65)")."""
    return "pipewire" in info.server_name.lower()


def _find_source(info: pulse.PulseInfo, spec: str) -> pulse.PulseSource | None:
    return info.source(spec) or next(
        (s for s in info.sources if spec.lower() in s.description.lower() or spec.lower() in s.name.lower()),
        None,
    )


def app_recorder_tool(pipewire: bool, environ=os.environ, which: Callable[[str], str | None] = pw_record_path) -> str:
    """The child recording an application's private sink: pw-record on PipeWire, else parec.

    ``TRAYRIP_CAPTURE=parec`` or ``portaudio`` keep it on parec (the Pulse way) on PipeWire too.
    """
    choice = environ.get("TRAYRIP_CAPTURE", "").lower() or DEFAULT_PIPEWIRE_TOOL
    return "pw-record" if pipewire and choice == "pw-record" and which("pw-record") else "parec"


def plan_pipewire(
    *,
    device: str | int | None = None,
    rate: int | None = None,
    bits: int = 16,
    platform: str = sys.platform,
    pulse_query: Callable[[], pulse.PulseInfo] = pulse.query,
    environ=os.environ,
    which: Callable[[str], str | None] = pw_record_path,
) -> PipeWirePlan | None:
    """The native PipeWire plan, or None when PortAudio should record.

    None: not Linux, ``TRAYRIP_CAPTURE=portaudio``, a PortAudio index as
    ``device``, no ``pw-record``, a server that is not PipeWire, or a
    ``device`` that names no server source. Raises CaptureError when the
    server cannot be asked or has no default sink.
    """
    _width(bits)
    choice = environ.get("TRAYRIP_CAPTURE", "").lower() or DEFAULT_PIPEWIRE_TOOL
    if not platform.startswith("linux") or choice == "portaudio":
        return None
    if device is not None and str(device).strip().lstrip("-").isdigit():
        return None
    if which(choice) is None:
        return None
    info = pulse_query()
    if not is_pipewire(info):
        return None
    if device is None:
        src = info.monitor_of_default_sink()
        if src is None:
            raise CaptureError(
                "the sound server has no default output (sink) whose monitor could be recorded; "
                "choose an output device in your sound settings, or pass --device"
            )
    else:
        src = _find_source(info, str(device))
        if src is None:
            return None
    label = f"{src.description} ({src.name})"
    fmt = _format(rate or src.rate, src.channels, bits)
    if src.monitor_of:
        return PipeWirePlan(fmt, PipeWireTarget(src.monitor_of, True, label, src.name), choice)
    return PipeWirePlan(fmt, PipeWireTarget(src.name, False, label, src.name), choice)


def loopback_device_index(catalog: DeviceCatalog, platform: str = sys.platform, pulse_query=pulse.query) -> int | None:
    """The PortAudio index that a default recording would use, or None (for listings)."""
    try:
        return plan_capture(catalog, platform=platform, pulse_query=pulse_query).device_index
    except CaptureError:
        return None
