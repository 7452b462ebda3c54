"""A folder made read-only for one command, in a private mount namespace.

As root (CI, a Debian 13 root entered by chroot) ``unshare -m`` is enough; a
user needs a user namespace too (``unshare -rm``), which chroots and some
kernels refuse. The prefix is tried first, so a test fails on *that*, in
plain words, rather than on what the command under test would have said.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

_SCRIPT = 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"'


def read_only_prefix(folder: Path) -> tuple[str, ...]:
    """An argv prefix that runs what follows with ``folder`` read-only."""
    unshare = ("unshare", "-m") if os.geteuid() == 0 else ("unshare", "-rm")
    prefix = (*unshare, "sh", "-c", _SCRIPT, "sh", str(folder))
    probe = subprocess.run([*prefix, "sh", "-c", 'if touch "$0/.probe" 2>/dev/null; then exit 3; fi', str(folder)],
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert probe.returncode == 0, (
        f"cannot make {folder} read-only for a test with {' '.join(unshare)}: "
        f"{'it stayed writable' if probe.returncode == 3 else probe.stderr.strip()}")
    return prefix
