"""The PCM format every stage shares: rate, channels, sample width (stdlib only).

Lives at the bottom (``wav``) because WAV headers, sample conversion, the
capture protocol and the encoders all describe their bytes with it;
:mod:`trayrip.capture.base` re-exports it beside the source protocol.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AudioFormat"]


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
