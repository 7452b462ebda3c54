"""When a pipe reader may pause between reads (thread: the reader's own, one instance per reader).

A recorder child writes every graph cycle; reading twice a second keeps the
reader nearly free. That pause is safe only while audio comes in real time:
the pipe holds a few seconds (1 MiB: 5.5 s of 48 kHz 16-bit stereo), and a
child that finds it full blocks, and its stream loses audio. After a stall
(SIGSTOP, a swapped-out or hung server) PipeWire 1.4's null sink catches up
on the cycles it missed as fast as it can: seconds of audio within a fraction
of a second. A reader paused for 0.5 s then let a 6 s catch-up fill the pipe,
and the newest audio -- the start of the next sound -- was lost.

So: after a read that had to wait for its first byte (the server delivered
nothing for a while), read without pausing for a second, and on until reads
have brought no more than real time for a quarter second. (The reader hands
what these reads bring over in blocks of the usual size: ``pipewire``.)
"""
from __future__ import annotations

__all__ = ["ReadPace", "STALLED_AFTER", "CATCH_UP_SPAN", "KEEP_ON"]

STALLED_AFTER = 0.25  # seconds a read waited for its first byte: the stream had stopped
CATCH_UP_SPAN = 1.0  # seconds of unpaused reads after such a read: the catch-up's first writes may be slow
KEEP_ON = 0.25  # seconds of unpaused reads after a read that brought audio faster than real time
_FASTER = 1.5  # ... that is, more than this times the time since the read before


class ReadPace:
    """Decides, after each read, whether the reader may pause before the next one."""

    def __init__(self, bytes_per_second: float):
        self._bytes_per_second = float(bytes_per_second)
        self._last: float | None = None  # when the previous read returned
        self._until = float("-inf")  # unpaused reads until then

    def may_pause(self, nbytes: int, began: float, ended: float) -> bool:
        """After a read of ``nbytes`` that began and ended at these monotonic times: True if the reader may
        pause (the stream runs in real time), False if it should read again at once (a catch-up).

        The catch-up ends only after a quiet stretch: one slow write in it (a loaded machine) does not
        let the reader pause while seconds more are coming."""
        since, self._last = (ended - self._last if self._last is not None else None), ended
        if since is not None:  # (the first read waits for the stream's start-up: no backlog)
            if ended - began >= STALLED_AFTER:
                self._until = ended + CATCH_UP_SPAN
            elif nbytes / self._bytes_per_second > _FASTER * since:
                self._until = max(self._until, ended + KEEP_ON)
        return ended >= self._until
