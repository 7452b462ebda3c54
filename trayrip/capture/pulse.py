"""Asking PulseAudio / PipeWire (through ``pactl``) which sink is playing (controller thread).

Only standard argument-list subprocesses; the C locale keeps the output
parseable whatever language the desktop speaks.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from ..errors import CaptureError
from .together import together

__all__ = ["PulseSource", "PulseInfo", "query", "parse_info", "parse_sources"]

log = logging.getLogger(__name__)

_SPEC = re.compile(r"(?P<format>\w+) (?P<channels>\d+)ch (?P<rate>\d+)Hz")


@dataclass(frozen=True)
class PulseSource:
    """A Pulse source as ``pactl list sources`` describes it."""

    name: str
    description: str
    rate: int
    channels: int
    sample_format: str
    monitor_of: str | None  # the sink this source monitors, if it is a monitor


@dataclass(frozen=True)
class PulseInfo:
    """What the server says: its name and defaults, and its sources."""

    server_name: str
    default_sink: str | None
    default_source: str | None
    sources: tuple[PulseSource, ...]
    server_version: str = ""

    @property
    def kind(self) -> str:
        """"PipeWire" (through pipewire-pulse) or "PulseAudio"."""
        return "PipeWire" if "pipewire" in self.server_name.lower() else "PulseAudio"

    @property
    def label(self) -> str:
        """e.g. "PulseAudio 16.1" or "PipeWire (PulseAudio (on PipeWire 0.3.65))"."""
        if self.kind == "PipeWire":
            return f"PipeWire ({self.server_name})"
        return f"PulseAudio {self.server_version}".strip()

    def source(self, name: str) -> PulseSource | None:
        return next((s for s in self.sources if s.name == name), None)

    def monitor_of_default_sink(self) -> PulseSource | None:
        if not self.default_sink:
            return None
        return next((s for s in self.sources if s.monitor_of == self.default_sink), None) or self.source(
            self.default_sink + ".monitor"
        )


def _pactl(*args: str, timeout: float = 5.0) -> str:
    exe = shutil.which("pactl")
    if exe is None:
        raise CaptureError("pactl was not found: install pulseaudio-utils (it works with PipeWire too)")
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        done = subprocess.run([exe, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise CaptureError("the sound server did not answer within 5 s (pactl timed out)") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise CaptureError(
            "no PulseAudio/PipeWire sound server is reachable"
            + (f" ({detail[-1]})" if detail else "")
            + ": start your sound server (or check PULSE_SERVER)"
        )
    return done.stdout


def parse_info(text: str) -> dict[str, str]:
    """``pactl info`` as a dict of its "Key: value" lines."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def parse_sources(text: str) -> list[PulseSource]:
    """``pactl list sources`` (C locale) into PulseSource records."""
    sources, current = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if raw.startswith("Source #"):
            current = {}
            sources.append(current)
            continue
        if current is None:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key in ("Name", "Description", "Sample Specification", "Monitor of Sink") and key not in current:
            current[key] = value
    result = []
    for s in sources:
        m = _SPEC.search(s.get("Sample Specification", ""))
        if not s.get("Name") or not m:
            continue
        monitor = s.get("Monitor of Sink")
        result.append(
            PulseSource(
                name=s["Name"],
                description=s.get("Description", s["Name"]),
                rate=int(m["rate"]),
                channels=int(m["channels"]),
                sample_format=m["format"],
                monitor_of=None if monitor in (None, "n/a") else monitor,
            )
        )
    return result


def query() -> PulseInfo:
    """Ask the running server; raises CaptureError with advice when there is none."""
    # Both questions at once: a start waits for the slower, not the sum (two child processes).
    info_text, sources_text = together(lambda: _pactl("info"), lambda: _pactl("list", "sources"))
    info = parse_info(info_text.get())
    sources = tuple(parse_sources(sources_text.get()))
    return PulseInfo(
        server_name=info.get("Server Name", "unknown"),
        default_sink=info.get("Default Sink") or None,
        default_source=info.get("Default Source") or None,
        sources=sources,
        server_version=info.get("Server Version", ""),
    )
