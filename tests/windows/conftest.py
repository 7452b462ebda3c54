"""Fixtures of the Windows suite (tests/windows/), run only under Wine.

The Debian suites collect nothing here: ``installer/windows/test-wine.sh``
runs this folder inside the ``wine`` layer with ``TRAYRIP_WINDOWS_SUITE=1``.
``wine`` (session): the started :class:`winharness.WineHarness`; a harness
that cannot start makes every test using it fail (an error), never skip.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

if not os.environ.get("TRAYRIP_WINDOWS_SUITE"):
    collect_ignore_glob = ["*"]
else:
    sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def wine():
    from winharness import WineHarness

    h = WineHarness()
    try:
        h.start()
        yield h
    finally:
        h.stop()


@pytest.fixture
def music(wine):
    """A fresh Music known folder for one test: the shell's "My Music" points at it.

    It is the user's Known Folder as Windows programs see it (SHGetFolderPath
    reads the User Shell Folders key), so filing there proves trayrip asked
    the shell, not guessed a path.
    """
    import uuid

    from winharness import linux_path

    name = "Music-" + uuid.uuid4().hex[:8]
    win = f"C:\\users\\{'root'}\\{name}"
    out = wine.reg("add", r"HKCU\Software\Microsoft\Windows\CurrentVersion\Explorer\User Shell Folders",
                   "/v", "My Music", "/t", "REG_EXPAND_SZ", "/d", win, "/f")
    assert out.returncode == 0, out.stderr
    folder = linux_path(win)
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
