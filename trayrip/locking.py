"""Advisory whole-file locks, so recovery never touches a file that is being written (any thread)."""
from __future__ import annotations

import os

__all__ = ["try_lock"]


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; False if another process holds one.

    The lock lasts until the descriptor is closed (or the process dies, which
    is what makes a crashed recording recognisable).
    """
    if os.name == "nt":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
