"""Choosing the loopback device per OS, with fake catalogs (no sound server)."""
from __future__ import annotations

import pytest

from trayrip.capture import pulse
from trayrip.capture.base import DeviceInfo
from trayrip.capture.discovery import loopback_device_index, plan_capture
from trayrip.errors import CaptureError

PACTL_INFO = """Server String: /run/user/1000/pulse/native
Server Name: PulseAudio (on PipeWire 0.3.65)
Default Sink: alsa_output.pci-0000_00_1f.3.analog-stereo
Default Source: alsa_input.pci-0000_00_1f.3.analog-stereo
"""

PACTL_SOURCES = """Source #55
\tState: SUSPENDED
\tName: alsa_output.pci-0000_00_1f.3.analog-stereo.monitor
\tDescription: Monitor of Built-in Audio Analog Stereo
\tDriver: PipeWire
\tSample Specification: s32le 2ch 48000Hz
\tChannel Map: front-left,front-right
\tMonitor of Sink: alsa_output.pci-0000_00_1f.3.analog-stereo
\tProperties:
\t\tdevice.description = "Monitor"
Source #56
\tName: alsa_input.pci-0000_00_1f.3.analog-stereo
\tDescription: Built-in Audio Analog Stereo
\tSample Specification: s16le 2ch 44100Hz
\tMonitor of Sink: n/a
"""


class FakeCatalog:
    def __init__(self, devices, wasapi=None):
        self._devices = devices
        self._wasapi = wasapi

    def devices(self):
        return self._devices

    def default_wasapi_loopback(self):
        return self._wasapi


LINUX = [
    DeviceInfo(0, "HDA Intel PCH: ALC892 Analog (hw:0,0)", 2, 44100, "ALSA"),
    DeviceInfo(5, "pulse", 32, 44100, "ALSA"),
    DeviceInfo(7, "default", 32, 44100, "ALSA"),
]


def fake_query():
    info = pulse.parse_info(PACTL_INFO)
    return pulse.PulseInfo(info["Server Name"], info["Default Sink"], info["Default Source"], tuple(pulse.parse_sources(PACTL_SOURCES)))


def test_parse_sources_reads_monitors():
    srcs = pulse.parse_sources(PACTL_SOURCES)
    assert [s.name for s in srcs] == [
        "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor",
        "alsa_input.pci-0000_00_1f.3.analog-stereo",
    ]
    assert srcs[0].monitor_of == "alsa_output.pci-0000_00_1f.3.analog-stereo"
    assert (srcs[0].rate, srcs[0].channels) == (48000, 2)
    assert srcs[1].monitor_of is None


def test_linux_default_is_the_monitor_of_the_default_sink_through_pulse():
    plan = plan_capture(FakeCatalog(LINUX), platform="linux", pulse_query=fake_query)
    assert plan.device_index == 5
    assert plan.env == {"PULSE_SOURCE": "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"}
    assert (plan.format.rate, plan.format.channels, plan.format.bits) == (48000, 2, 16)
    assert "Monitor of Built-in Audio" in plan.description


def test_linux_master_format_and_named_pulse_source():
    plan = plan_capture(
        FakeCatalog(LINUX), platform="linux", pulse_query=fake_query, rate=96000, bits=24, device="alsa_input"
    )
    assert plan.env["PULSE_SOURCE"] == "alsa_input.pci-0000_00_1f.3.analog-stereo"
    assert (plan.format.rate, plan.format.bits) == (96000, 24)


def test_linux_device_by_index_and_by_name():
    assert plan_capture(FakeCatalog(LINUX), platform="linux", pulse_query=fake_query, device="0").device_index == 0
    plan = plan_capture(FakeCatalog(LINUX), platform="linux", pulse_query=fake_query, device="ALC892")
    assert plan.device_index == 0 and plan.env == {} and plan.format.channels == 2


def test_linux_errors_say_what_to_do():
    with pytest.raises(CaptureError, match="libasound2-plugins"):
        plan_capture(FakeCatalog(LINUX[:1]), platform="linux", pulse_query=fake_query)

    def no_server():
        raise CaptureError("no PulseAudio/PipeWire sound server is reachable: start your sound server")

    with pytest.raises(CaptureError, match="sound server"):
        plan_capture(FakeCatalog(LINUX), platform="linux", pulse_query=no_server)
    with pytest.raises(CaptureError, match="no input device with index 42"):
        plan_capture(FakeCatalog(LINUX), platform="linux", pulse_query=fake_query, device=42)
    with pytest.raises(CaptureError, match="several"):
        plan_capture(FakeCatalog(LINUX), platform="linux", pulse_query=no_server, device="e")


def test_windows_uses_the_default_wasapi_loopback():
    loop = DeviceInfo(12, "Speakers (Realtek) [Loopback]", 2, 48000, "Windows WASAPI", is_loopback=True)
    cat = FakeCatalog([DeviceInfo(1, "Microphone", 1, 44100, "MME"), loop], wasapi=loop)
    plan = plan_capture(cat, platform="win32")
    assert plan.device_index == 12 and plan.format.rate == 48000 and plan.env == {}
    with pytest.raises(CaptureError, match="WASAPI loopback"):
        plan_capture(FakeCatalog([], wasapi=None), platform="win32")


def test_macos_finds_blackhole_by_name_or_explains():
    cat = FakeCatalog([DeviceInfo(0, "MacBook Pro Microphone", 1, 48000), DeviceInfo(3, "BlackHole 2ch", 2, 48000)])
    assert plan_capture(cat, platform="darwin").device_index == 3
    with pytest.raises(CaptureError, match="BlackHole"):
        plan_capture(FakeCatalog([DeviceInfo(0, "MacBook Pro Microphone", 1, 48000)]), platform="darwin")


def test_bad_bits_refused():
    with pytest.raises(CaptureError, match="16 or 24"):
        plan_capture(FakeCatalog(LINUX), platform="linux", pulse_query=fake_query, bits=8)


def test_loopback_index_for_listing():
    assert loopback_device_index(FakeCatalog(LINUX), platform="linux", pulse_query=fake_query) == 5
    assert loopback_device_index(FakeCatalog([]), platform="darwin") is None
