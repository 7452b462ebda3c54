"""When the tray menu is rebuilt (issue 20, defect 2): every change of what it shows, and nothing else."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from trayrip.config import Config
from trayrip.desktop.autostart import AutostartSwitch, XdgAutostart
from trayrip.desktop.controller import DeviceChoice, Snapshot
from trayrip.desktop.mailbox import Mailbox
from trayrip.desktop.menu_key import NOT_IN_MENU, menu_key
from trayrip.desktop.state import State

CHANGED = {
    "state": State.RECORDING, "pending": 2, "quitting": True, "error": "boom", "recent": (Path("/m/a.wav"),),
    "config": Config(app="mpv"), "config_problem": "line 3", "devices": (DeviceChoice("x", "X"),),
    "devices_note": "none", "hotkey_problem": "bad", "hotkey_trigger": "Ctrl+Alt+F9", "folder": Path("/m"), "preroll": 10.0,
    "apps": ("paplay",), "schedules": ("one",),
}


def test_the_record_from_list_rebuilds_the_menu():
    before = Snapshot(apps=("pw-play",))
    assert menu_key(dataclasses.replace(before, apps=("pw-play", "paplay"))) != menu_key(before)
    assert menu_key(dataclasses.replace(before, apps=())) != menu_key(before)


def test_every_field_the_menu_shows_is_in_the_key_and_the_meter_is_not():
    base = Snapshot()
    for f in dataclasses.fields(Snapshot):
        if f.name in NOT_IN_MENU:
            continue
        assert f.name in CHANGED, f"new Snapshot field {f.name}: add it to CHANGED here (or to NOT_IN_MENU)"
        assert menu_key(dataclasses.replace(base, **{f.name: CHANGED[f.name]})) != menu_key(base), f.name
    ticking = dataclasses.replace(base, elapsed=61.0, level_db=-12.0, seq=99)
    assert menu_key(ticking) == menu_key(base)  # the level meter never rebuilds the menu


def test_the_autostart_checkbox_is_part_of_the_key():
    snap = Snapshot()
    assert menu_key(snap, True) != menu_key(snap, False)


def test_the_autostart_switch_follows_the_file_changed_elsewhere(tmp_path):
    a = XdgAutostart(tmp_path, command=["/usr/bin/trayrip"])
    watched, changes = [], []
    switch = AutostartSwitch(a)
    try:
        switch.watch(lambda: changes.append(switch.enabled), watcher=lambda path, cb: watched.append((path, cb)))
        [(path, callback)] = watched
        assert path == a.path and switch.enabled is False
        a.enable()  # what `trayrip autostart on` in a terminal does
        callback()
        assert switch.enabled is True and changes == [True]
        a.disable()
        callback()
        assert switch.enabled is False and changes == [True, False]
    finally:
        switch.close()


def test_the_real_file_monitor_reports_a_change(tmp_path):
    from gi.repository import GLib

    from trayrip.desktop.file_watch import watch_file

    path = tmp_path / "autostart" / "trayrip.desktop"
    path.parent.mkdir()
    seen = []
    monitor = watch_file(path, lambda: seen.append(path.exists()))
    path.write_text("[Desktop Entry]\n")
    ctx = GLib.MainContext.default()
    tick = GLib.timeout_add(50, lambda: True)  # iteration() wakes up to look at the deadline
    deadline = GLib.get_monotonic_time() + 10_000_000
    while not seen and GLib.get_monotonic_time() < deadline:
        ctx.iteration(True)
    GLib.source_remove(tick)
    monitor.cancel()
    assert seen and seen[0] is True


def test_put_if_empty_never_replaces_a_newer_value():
    box = Mailbox()
    box.put("newer")
    box.put_if_empty("older")
    assert box.get() == "newer"
    box.put_if_empty("again")
    assert box.get() == "again"
