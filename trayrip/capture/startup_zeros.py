"""The exact zeros a new PipeWire stream starts with, dropped (the recorder child's reader thread).

A ``pw-record`` (or ``parec`` through pipewire-pulse) stream that joins a
monitor while something plays gets, as its first graph cycle, one quantum of
digital silence: the link is made mid-cycle and the port's first buffer is
zero-filled. Then the sound. That is the 21 ms of zeros (a 1024-frame quantum
at 48 kHz; 256 frames in the test harness) at the start of a recording
started while a tone plays, heard as a click (issue 20, defect 11). Exact
zeros followed by sound within :data:`LIMIT_SECONDS` are therefore dropped;
zeros that go on longer are real silence and are all kept (their count is
held, not the bytes).
"""
from __future__ import annotations

import logging

__all__ = ["LIMIT_SECONDS", "StartupZeros"]

log = logging.getLogger(__name__)

LIMIT_SECONDS = 0.1  # the longest start-up run dropped: PipeWire's largest usual quantum (4096 at 48 kHz) fits


class StartupZeros:
    """Feed a new stream's bytes in order; what comes out lacks its leading start-up zeros."""

    def __init__(self, bytes_per_frame: int, rate: int, limit_seconds: float = LIMIT_SECONDS):
        self._bpf = bytes_per_frame
        self._limit = int(rate * limit_seconds)
        self._held = 0  # zero frames held back so far
        self.active = True  # until the first sound, or zeros longer than the limit
        self.dropped = 0  # frames dropped (for the log and tests)

    def feed(self, data: bytes) -> bytes:
        """Whole frames in, whole frames out (possibly none while it waits to see what follows)."""
        if not self.active:
            return data
        first = len(data) - len(data.lstrip(b"\0"))  # the first non-zero byte (C speed)
        if first == len(data):
            self._held += len(data) // self._bpf
            return self.flush() if self._held > self._limit else b""
        lead = first // self._bpf
        self.active = False
        if self._held + lead <= self._limit:
            self.dropped = self._held + lead
            self._held = 0
            if self.dropped:
                log.debug("dropped %d frames of start-up zeros", self.dropped)
            return data[lead * self._bpf:]
        return self.flush() + data

    def flush(self) -> bytes:
        """The zeros held back, as silence (the stream ended, or they turned out to be real)."""
        self.active = False
        held, self._held = self._held, 0
        return bytes(held * self._bpf)
