"""How the controller stops a recording's capture without waiting for the disk (controller thread).

Stopping has two halves: the stream stops (the pre-roll stream goes back to
its ring, a child ends, the application's routing is undone), and then the
recorder writes what was still queued and closes the file with an fsync. The
second half runs on the filer thread (its ``finish`` does it before filing),
so a press that comes meanwhile starts the next recording at once: a loaded
disk held the pre-roll's next start up to 0.3 s. Nothing is lost: the
recorder thread keeps writing until the file is closed, and the file stays
locked until it is filed.
"""
from __future__ import annotations

from typing import Any

__all__ = ["stop_stream"]


def stop_stream(rec: Any) -> float:
    """Stop ``rec``'s stream now; the seconds captured so far (its file is closed later, by the filer)."""
    stop = getattr(rec, "stop_stream", None)
    if stop is None:  # a recording that only stops whole
        return float(getattr(rec.stop_capture(), "duration", 0.0))
    return float(stop())
