"""The global hotkey against the harness's X server (Xvfb, a US keymap): issue 20, defect 6.

A hotkey whose key no key of the layout types (``ß`` on a US keymap) would
never fire: binding it is refused with a message naming the key, and the
binding in place stays.
"""
from __future__ import annotations

import subprocess
import sys

BIND = """
from trayrip.desktop.hotkeys import HotkeyManager
m = HotkeyManager(lambda: None)
print(m.bind("<ctrl>+<alt>+r"))
print(m.bind("<ctrl>+ß"))
print(m.hotkey.canonical)
m.stop()
"""


def test_a_hotkey_the_keymap_cannot_type_is_refused_and_the_old_one_kept(harness, user_env):
    done = subprocess.run([sys.executable, "-c", BIND], env=user_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    first, second, bound = done.stdout.splitlines()
    assert first == "None"  # r is on the keyboard
    assert "hotkey Ctrl+ß: no key of this keyboard layout types 'ß'" in second, second
    assert "keeping Ctrl+Alt+R" in second and "SS" not in second
    assert bound == "<ctrl>+<alt>+r"
