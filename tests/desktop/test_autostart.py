"""Autostart at login: XDG .desktop (real files), Windows Run key (a fake key), macOS LaunchAgent (content)."""
from __future__ import annotations

import configparser
import os
import plistlib
import stat
import subprocess
import sys

import pytest

from trayrip.desktop.autostart import (
    AutostartSwitch,
    MacLaunchAgent,
    WindowsAutostart,
    XdgAutostart,
    _desktop_exec,
    launch_command,
)


def _exec_argv(value: str) -> list[str]:
    """Parse an Exec value as the Desktop Entry spec says: string unescaping, then the quoting rules."""
    value = value.replace("\\\\", "\\")
    args, cur, quoted, i, started = [], "", False, 0, False
    while i < len(value):
        c = value[i]
        if quoted and c == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
            cur += value[i + 1]
            i += 2
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if started:
                args.append(cur)
            cur, started = "", False
        else:
            cur += c
            started = True
        i += 1
    if started:
        args.append(cur)
    return args


def test_xdg_round_trip(tmp_path):
    a = XdgAutostart(tmp_path / "config", command=["/opt/trayrip venv/bin/trayrip", "tray"])
    assert not a.enabled()
    a.enable()
    assert a.enabled() and a.path == tmp_path / "config" / "autostart" / "trayrip.desktop"
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(a.path)
    d = entry["Desktop Entry"]
    assert d["Type"] == "Application" and d["Name"] == "trayrip" and d["Icon"] == "trayrip"
    assert _exec_argv(d["Exec"]) == ["/opt/trayrip venv/bin/trayrip", "tray"]
    assert not stat.S_IMODE(a.path.stat().st_mode) & 0o022  # not group/world-writable
    a.enable()  # idempotent
    assert a.enabled()
    a.disable()
    assert not a.enabled() and not a.path.exists()
    a.disable()  # idempotent


def test_xdg_hidden_entry_counts_as_off(tmp_path):
    a = XdgAutostart(tmp_path)
    a.path.parent.mkdir(parents=True)
    a.path.write_text("[Desktop Entry]\nType=Application\nExec=trayrip\nHidden=true\n")
    assert not a.enabled()
    a.enable()
    assert a.enabled()


@pytest.mark.parametrize("arg", ['/a b/c', 'x"y', 'p$q', 'back\\slash', '50%', "plain"])
def test_desktop_exec_quoting_round_trips(arg):
    value = _desktop_exec([arg, "tray"])
    assert _exec_argv(value.replace("%%", "%")) == [arg, "tray"]


class FakeRunKey:
    def __init__(self):
        self.values: dict[str, str] = {}

    def get(self, name):
        return self.values.get(name)

    def set(self, name, value):
        self.values[name] = value

    def delete(self, name):
        self.values.pop(name, None)


def test_windows_run_key_round_trip_with_a_fake_key():
    key = FakeRunKey()
    a = WindowsAutostart(key, command=[r"C:\Program Files\trayrip\python.exe", "-m", "trayrip", "tray"])
    assert not a.enabled()
    a.enable()
    assert a.enabled()
    # pythonw (no console window), quoted for CreateProcess
    assert key.values == {"trayrip": r'"C:\Program Files\trayrip\pythonw.exe" -m trayrip tray'}
    assert a.where.endswith(r"Software\Microsoft\Windows\CurrentVersion\Run\trayrip")
    a.disable()
    assert not a.enabled() and key.values == {}
    a.disable()


def test_macos_launch_agent_content_and_round_trip(tmp_path):
    a = MacLaunchAgent(tmp_path, command=["/Users/me/.local/share/trayrip/venv/bin/trayrip", "tray"])
    assert not a.enabled()
    a.enable()
    assert a.path == tmp_path / "Library" / "LaunchAgents" / "trayrip.plist"
    with open(a.path, "rb") as f:
        plist = plistlib.load(f)
    assert plist["Label"] == "trayrip"
    assert plist["ProgramArguments"] == ["/Users/me/.local/share/trayrip/venv/bin/trayrip", "tray"]
    assert plist["RunAtLoad"] is True and plist["KeepAlive"] is False
    assert a.enabled()
    a.disable()
    assert not a.enabled()


def test_launch_command_is_absolute():
    argv = launch_command()
    assert os.path.isabs(argv[0]) and argv[-1] == "tray"


@pytest.mark.parametrize("running", ["trayrip.exe", "trayrip-cli.exe"])
def test_frozen_windows_build_starts_the_console_less_trayrip_exe(tmp_path, monkeypatch, running):
    """'trayrip-cli autostart on' must register the tray program (no console window), not itself."""
    for name in ("trayrip.exe", "trayrip-cli.exe"):
        (tmp_path / name).write_bytes(b"MZ")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / running))
    assert launch_command() == [str(tmp_path / "trayrip.exe"), "tray"]


def test_menu_switch_applies_on_its_thread(tmp_path):
    a = XdgAutostart(tmp_path, command=["/usr/bin/trayrip", "tray"])
    errors = []
    switch = AutostartSwitch(a, on_error=errors.append)
    try:
        assert switch.enabled is False
        switch.request(True)
        assert switch.enabled is True  # the menu shows it at once
    finally:
        switch.close()  # drains the queue first
    assert a.enabled() and errors == []


def test_menu_switch_reports_a_failure(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    errors = []
    switch = AutostartSwitch(XdgAutostart(blocker, command=["x"]), on_error=errors.append)
    switch.request(True)
    switch.close()
    assert len(errors) == 1 and "cannot turn autostart on" in errors[0] and switch.enabled is False


def test_cli_autostart_round_trip(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "trayrip", "autostart", *args], env=env,
                              capture_output=True, text=True, timeout=60)

    path = tmp_path / "cfg" / "autostart" / "trayrip.desktop"
    assert run("status").stdout == f"off\t{path}\n"
    on = run("on")
    assert on.returncode == 0 and on.stdout == f"on\t{path}\n" and path.is_file()
    assert run("status").stdout.startswith("on\t")
    off = run("off")
    assert off.returncode == 0 and off.stdout.startswith("off\t") and not path.exists()
    assert run("maybe").returncode == 2


def test_tray_menu_checkbox_turns_autostart_on_and_off(tmp_path):
    from types import SimpleNamespace

    from trayrip.desktop.tray import Tray

    class Item:
        def __init__(self, text, action, checked=None, **_kw):
            self.text, self.action, self.checked = text, action, checked

    a = XdgAutostart(tmp_path, command=["/usr/bin/trayrip", "tray"])
    switch = AutostartSwitch(a)
    tray = object.__new__(Tray)  # only the menu part: no tray host needed
    tray._pystray = SimpleNamespace(MenuItem=Item)
    tray._autostart = switch
    try:
        (item,) = tray._autostart_items()
        assert item.text == "Start at login" and item.checked(item) is False
        item.action()
        assert item.checked(item) is True
        switch.close()
        assert a.enabled()
        switch = tray._autostart = AutostartSwitch(a)
        (item,) = tray._autostart_items()
        assert item.checked(item) is True  # read back from the file at start-up
        item.action()
    finally:
        switch.close()
    assert not a.enabled()
