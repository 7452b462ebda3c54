"""The modules a Windows start imports must not need Linux-only modules.

No Windows Python has ``fcntl`` or ``termios``; blocking them in a fresh
interpreter shows what a Windows import chain would hit (issue 19: ``trayrip
record`` died in ``capture/discovery.py`` -> ``capture/pipewire.py``).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What `trayrip record`, `devices`, `doctor` and the tray import before they open a device.
WINDOWS_PATH_MODULES = [
    "trayrip.cli",
    "trayrip.api",
    "trayrip.capture.discovery",
    "trayrip.capture.childtarget",
    "trayrip.capture.follow",  # api opens every default-output recording through it
    "trayrip.doctor",
    "trayrip.capture.routing",
    "trayrip.desktop.controller",
    "trayrip.desktop.tray",
    "trayrip.desktop.app",
]


@pytest.mark.parametrize("module", WINDOWS_PATH_MODULES)
def test_imports_without_fcntl_and_termios(module):
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None\n"  # None in sys.modules makes `import fcntl` raise ImportError
        "sys.modules['termios'] = None\n"
        f"import {module}\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_pipewire_still_offers_its_names():
    from trayrip.capture import childtarget, pipewire

    assert pipewire.PipeWireTarget is childtarget.PipeWireTarget
    assert pipewire.pw_record_path is childtarget.pw_record_path


def test_app_recording_on_windows_says_why_not_instead_of_an_import_error():
    code = (
        "import sys\n"
        "sys.modules['fcntl'] = None\n"
        "sys.modules['termios'] = None\n"
        "from trayrip import api\n"
        "from trayrip.errors import CaptureError\n"
        "sys.platform = 'win32'\n"
        "try:\n"
        "    api.open_app_source(api.RecordingOptions(app='firefox'))\n"
        "except CaptureError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "not supported on Windows" in out.stdout
