"""Capture source protocol and the small value types around it (stdlib only).

A :class:`CaptureSource` calls its ``sink`` on a foreign thread (the audio
driver's); the sink does O(1) work only. Everything else about a recording
happens on the recorder thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from ..errors import CaptureError

__all__ = ["AudioFormat", "Block", "BlockSink", "CaptureError", "CaptureSource", "DeviceInfo"]


@dataclass(frozen=True)
class AudioFormat:
    """Interleaved little-endian signed PCM."""

    rate: int
    channels: int
    sample_width: int  # bytes per sample: 2 (16-bit) or 3 (24-bit)

    def __post_init__(self) -> None:
        if self.rate < 1000 or self.rate > 768000:
            raise ValueError(f"sample rate {self.rate} Hz is out of range (1000-768000)")
        if not 1 <= self.channels <= 32:
            raise ValueError(f"{self.channels} channels is out of range (1-32)")
        if self.sample_width not in (2, 3):
            raise ValueError("bit depth must be 16 or 24")

    @property
    def bits(self) -> int:
        return self.sample_width * 8

    @property
    def bytes_per_frame(self) -> int:
        return self.sample_width * self.channels

    @property
    def bytes_per_second(self) -> int:
        return self.bytes_per_frame * self.rate

    def describe(self) -> str:
        return f"{self.rate} Hz, {self.channels} ch, {self.bits}-bit"


@dataclass(frozen=True)
class Block:
    """One buffer from the driver.

    ``arrival`` is ``time.monotonic()`` when the driver handed the block
    over; the recorder uses it to keep the timeline through stretches in
    which a loopback source delivers nothing.
    """

    data: bytes
    frames: int
    arrival: float
    overflow: bool = False


BlockSink = Callable[[Block], bool]
"""Called on the driver thread; returns False when the block was not accepted."""


@dataclass(frozen=True)
class DeviceInfo:
    """An input device as listed to users."""

    index: int | None
    name: str
    max_input_channels: int
    default_rate: int
    host_api: str = ""
    is_loopback: bool = False


class CaptureSource(Protocol):
    """A started source pushes :class:`Block` objects into a sink until stopped."""

    format: AudioFormat
    description: str

    def start(self, sink: BlockSink) -> None:
        """Begin delivering blocks; raises CaptureError if the stream cannot open."""

    def stop(self) -> None:
        """Stop delivering; idempotent; after it returns the sink is not called again."""

    def error(self) -> str | None:
        """A message when the stream died on its own (device or server lost), else None."""
