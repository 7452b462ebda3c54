"""Capture source protocol and the small value types around it (stdlib only).

A :class:`CaptureSource` calls its ``sink`` on a foreign thread (the audio
driver's); the sink does O(1) work only. Everything else about a recording
happens on the recorder thread.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from ..errors import CaptureError
from ..wav.format import AudioFormat

__all__ = ["AudioFormat", "Block", "BlockSink", "CaptureError", "CaptureSource", "DeviceInfo"]


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
