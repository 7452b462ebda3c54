"""Advisory whole-file locks, so recovery never touches a file that is being written or filed (any thread)."""
from __future__ import annotations

import os

__all__ = ["try_lock", "unlock"]

# Windows locks are mandatory for the bytes they cover: lock one byte far past
# the end of the file, so readers (a copy taken mid-recording) are not blocked.
# 1 TiB: far past any recording (530 hours at 96 kHz/24-bit stereo); 1 << 62
# was refused by Wine's lock (every try_lock failed, so recovery found nothing).
_WIN_LOCK_OFFSET = 1 << 40


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on ``fd`` without waiting; False if another process holds one.

    The lock lasts until :func:`unlock` or until every descriptor of this open
    file is closed -- including when the process dies, which is what makes a
    crashed recording recognisable.
    """
    if os.name == "nt":
        import msvcrt

        here = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
        finally:
            os.lseek(fd, here, os.SEEK_SET)
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def unlock(fd: int) -> None:
    """Release a lock taken by :func:`try_lock` (Windows releases left-over locks only eventually)."""
    if os.name == "nt":
        import msvcrt

        here = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        finally:
            os.lseek(fd, here, os.SEEK_SET)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)
