"""Hotkey parsing/validation and the manager's behaviour with a fake backend (no display)."""
from __future__ import annotations

import logging

import pytest

from trayrip.desktop.hotkeys import HotkeyManager, is_wayland
from trayrip.hotkey_syntax import (
    DEFAULT_HOTKEY,
    PRESETS,
    HotkeyError,
    display_name,
    parse_hotkey,
    xdotool_keys,
)


@pytest.mark.parametrize(
    "text, canonical",
    [
        ("<ctrl>+<alt>+<shift>+r", "<ctrl>+<alt>+<shift>+r"),
        ("Ctrl+Alt+Shift+R", "<ctrl>+<alt>+<shift>+r"),
        ("<shift>+<ctrl>+<alt>+R", "<ctrl>+<alt>+<shift>+r"),
        (" ctrl + alt + r ", "<ctrl>+<alt>+r"),
        ("<ctrl_l>+<alt_r>+x", "<ctrl>+<alt>+x"),
        ("super+alt+r", "<alt>+<cmd>+r"),
        ("Control+Escape", "<ctrl>+<esc>"),
        ("<ctrl>+<shift>+<F12>", "<ctrl>+<shift>+<f12>"),
        ("<pause>", "<pause>"),
        ("F9", "<f9>"),
        ("<ctrl>+<alt>+PgUp", "<ctrl>+<alt>+<page_up>"),
        ("<ctrl>+<65>", "<ctrl>+<65>"),
        ("<ctrl>+<alt>+5", "<ctrl>+<alt>+5"),
        ("<ctrl>+<alt>+/", "<ctrl>+<alt>+/"),
    ],
)
def test_valid_hotkeys_are_normalised(text, canonical):
    assert parse_hotkey(text).canonical == canonical
    assert parse_hotkey(canonical).canonical == canonical  # stable


@pytest.mark.parametrize(
    "text, says",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("r", "would fire while typing"),
        ("<shift>+r", "would fire while typing"),
        ("<space>", "would fire while typing"),
        ("<ctrl>+<foo>", "unknown key '<foo>'"),
        ("ctrl+alt+banana", "unknown key 'banana'"),
        ("<ctrl>+<alt>", "only modifiers"),
        ("<ctrl>+a+b", "several keys"),
        ("<ctrl>++", "empty part"),
        ("+r", "empty part"),
        ("<ctrl>+<ctrl>+r", "twice"),
        ("<65>", "key code needs at least one modifier"),
        (5, "must be a string"),
        (None, "must be a string"),
    ],
)
def test_bad_hotkeys_say_why(text, says):
    with pytest.raises(HotkeyError) as info:
        parse_hotkey(text)
    assert says in str(info.value)
    assert isinstance(info.value, ValueError)


def test_messages_show_how_to_write_one():
    with pytest.raises(HotkeyError, match=r"<ctrl>\+<alt>\+<shift>\+r"):
        parse_hotkey("<ctrl>+<nope>")


def test_default_and_presets_are_valid_and_distinct():
    assert DEFAULT_HOTKEY == "<ctrl>+<alt>+<shift>+r"
    canon = [parse_hotkey(p).canonical for p in PRESETS]
    assert canon == list(PRESETS)
    assert len(set(canon)) == len(canon)
    assert PRESETS[0] == DEFAULT_HOTKEY


@pytest.mark.parametrize(
    "text, linux, mac, xdotool",
    [
        (DEFAULT_HOTKEY, "Ctrl+Alt+Shift+R", "Ctrl+Alt+Shift+R", "ctrl+alt+shift+r"),
        ("<cmd>+<alt>+r", "Alt+Super+R", "Alt+Cmd+R", "alt+super+r"),
        ("<ctrl>+<shift>+<f12>", "Ctrl+Shift+F12", "Ctrl+Shift+F12", "ctrl+shift+F12"),
        ("<ctrl>+<page_up>", "Ctrl+PageUp", "Ctrl+PageUp", "ctrl+Prior"),
        ("<pause>", "Pause", "Pause", "Pause"),
        ("<ctrl>+ß", "Ctrl+ß", "Ctrl+ß", "ctrl+ß"),  # not "Ctrl+SS" (issue 20, defect 6)
    ],
)
def test_display_and_xdotool_names(text, linux, mac, xdotool):
    assert display_name(text, "linux") == linux
    assert display_name(text, "darwin") == mac
    assert display_name(text, "win32").replace("Win", "Super") == linux
    assert xdotool_keys(text) == xdotool


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, False),
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, False),
        ({"XDG_SESSION_TYPE": "wayland"}, True),
        ({"XDG_SESSION_TYPE": "Wayland"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": ""}, False),
    ],
)
def test_wayland_detection(env, expected):
    assert is_wayland(env) is expected


class FakeBackend:
    """Records bindings; ``press()`` plays the OS hook calling the bound callback."""

    name = "fake"

    def __init__(self, fail_on: set[str] | None = None, problem: str | None = None):
        self.bound = None
        self.callback = None
        self.binds = []
        self.fail_on = fail_on or set()
        self._problem = problem
        self.unbinds = 0

    def bind(self, hotkey, callback):
        if hotkey.canonical in self.fail_on:
            raise HotkeyError(f"cannot grab {hotkey.canonical}")
        self.binds.append(hotkey.canonical)
        self.bound, self.callback = hotkey.canonical, callback

    def unbind(self, wait=0.5):
        self.unbinds += 1
        self.bound = None

    def problem(self):
        return self._problem

    def press(self):
        self.callback()


def test_manager_binds_and_the_callback_only_queues():
    fired = []
    backend = FakeBackend()
    m = HotkeyManager(lambda: fired.append("toggle"), backend, env={}, platform="linux")
    assert m.bind("Ctrl+Alt+Shift+R") is None
    assert backend.bound == DEFAULT_HOTKEY and m.hotkey.canonical == DEFAULT_HOTKEY
    backend.press()
    assert fired == ["toggle"]


def test_a_bad_hotkey_keeps_the_previous_binding():
    backend = FakeBackend()
    m = HotkeyManager(lambda: None, backend, env={}, platform="linux")
    m.bind(DEFAULT_HOTKEY)
    message = m.bind("<ctrl>+<nonsense>")
    assert "unknown key '<nonsense>'" in message
    assert "keeping Ctrl+Alt+Shift+R" in message
    assert backend.bound == DEFAULT_HOTKEY and backend.binds == [DEFAULT_HOTKEY]
    assert m.hotkey.canonical == DEFAULT_HOTKEY


def test_a_backend_refusal_is_reported_and_the_old_binding_stays():
    backend = FakeBackend(fail_on={"<ctrl>+<alt>+r"})
    m = HotkeyManager(lambda: None, backend, env={}, platform="linux")
    m.bind(DEFAULT_HOTKEY)
    problem = m.bind("<ctrl>+<alt>+r")
    assert "cannot grab <ctrl>+<alt>+r" in problem
    assert backend.bound == DEFAULT_HOTKEY and m.hotkey.canonical == DEFAULT_HOTKEY


def test_rebinding_the_same_hotkey_does_nothing():
    backend = FakeBackend()
    m = HotkeyManager(lambda: None, backend, env={}, platform="linux")
    m.bind(DEFAULT_HOTKEY)
    m.bind("ctrl+alt+shift+r")
    assert backend.binds == [DEFAULT_HOTKEY]


def test_wayland_is_reported_once(caplog):
    backend = FakeBackend()
    m = HotkeyManager(lambda: None, backend, env={"XDG_SESSION_TYPE": "wayland"}, platform="linux")
    with caplog.at_level(logging.WARNING, logger="trayrip.desktop.hotkeys"):
        first = m.bind(DEFAULT_HOTKEY)
        second = m.bind("<ctrl>+<alt>+r")
    assert first and "Wayland" in first and "tray menu works" in first and "'trayrip toggle'" in first
    assert second and "Wayland" in second
    assert sum("Wayland" in r.getMessage() for r in caplog.records) == 1
    assert backend.bound == "<ctrl>+<alt>+r"  # still bound: XWayland windows do deliver keys


def test_backend_problem_such_as_missing_permission_is_returned():
    backend = FakeBackend(problem="macOS has not allowed trayrip to see the keyboard")
    m = HotkeyManager(lambda: None, backend, env={}, platform="darwin")
    assert m.bind(DEFAULT_HOTKEY) == "macOS has not allowed trayrip to see the keyboard"
    assert m.problem == "macOS has not allowed trayrip to see the keyboard"


def test_manager_survives_a_crashing_backend():
    class Broken(FakeBackend):
        def bind(self, hotkey, callback):
            raise RuntimeError("boom")

    m = HotkeyManager(lambda: None, Broken(), env={}, platform="linux")
    problem = m.bind(DEFAULT_HOTKEY)
    assert "could not be bound: boom" in problem
    m.stop()


def test_macos_permission_message_says_how_to_grant_it():
    from trayrip.desktop.hotkeys import MACOS_PERMISSION_MESSAGE

    text = MACOS_PERMISSION_MESSAGE.format(hotkey="Ctrl+Alt+Shift+R")
    assert "Privacy & Security" in text and "Accessibility" in text and "Input Monitoring" in text


def test_hotkeys_module_does_not_import_pynput_at_import_time():
    import subprocess
    import sys

    code = "import sys, trayrip.desktop.hotkeys, trayrip.config; print('pynput' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "env, platform, offered, expected",
    [
        ({"XDG_SESSION_TYPE": "wayland"}, "linux", True, "portal"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", False, "pynput"),
        ({"XDG_SESSION_TYPE": "x11"}, "linux", True, "pynput"),
        ({}, "win32", True, "pynput"),
    ],
)
def test_choose_backend_takes_the_portal_on_wayland_when_offered(env, platform, offered, expected):
    from trayrip.desktop.hotkeys import choose_backend

    asked = []

    def probe():
        asked.append(1)
        return None if offered else "no GlobalShortcuts portal: ServiceUnknown"

    backend, why = choose_backend(env, platform, portal_probe=probe)
    assert backend.name == expected
    assert (why is not None) == (expected == "pynput" and bool(asked))


def test_wayland_without_portal_says_why_and_to_bind_trayrip_toggle():
    m = HotkeyManager(lambda: None, FakeBackend(), env={"XDG_SESSION_TYPE": "wayland"}, platform="linux")
    m._portal_why = "no GlobalShortcuts portal: ServiceUnknown"
    problem = m.bind(DEFAULT_HOTKEY)
    assert "ServiceUnknown" in problem and "'trayrip toggle'" in problem


@pytest.mark.parametrize(
    "text, trigger",
    [
        (DEFAULT_HOTKEY, "CTRL+ALT+SHIFT+r"),
        ("<ctrl>+<shift>+<f12>", "CTRL+SHIFT+F12"),
        ("<alt>+<cmd>+r", "ALT+LOGO+r"),
        ("<pause>", "Pause"),
        ("<ctrl>+<alt>+/", "CTRL+ALT+slash"),
        ("<ctrl>+<alt>+<page_up>", "CTRL+ALT+Prior"),
        ("<ctrl>+<65>", None),  # a raw key code has no keysym name: the desktop asks the user
    ],
)
def test_portal_trigger_uses_the_xdg_shortcuts_syntax(text, trigger):
    from trayrip.desktop.portal_hotkeys import portal_trigger

    assert portal_trigger(parse_hotkey(text)) == trigger
