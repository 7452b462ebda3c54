"""trayrip.sessionbus against a real, private dbus-daemon."""
from __future__ import annotations

import pytest

from trayrip.sessionbus import BusError, DBusAddress, MatchRule, SessionBus


@pytest.fixture
def private_bus(private_bus_address, monkeypatch):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", private_bus_address)
    return private_bus_address


def test_calls_properties_and_signals(private_bus):
    with SessionBus() as bus:
        assert bus.unique_name.startswith(":")
        assert "org.freedesktop.DBus" in bus.list_names()
        props = bus.get_all_properties(DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus"),
                                       "org.freedesktop.DBus")
        assert isinstance(props["Features"], list)  # variants unwrapped to plain values
        changes = bus.subscribe(MatchRule(type="signal", interface="org.freedesktop.DBus", member="NameOwnerChanged"))
        with SessionBus() as other:
            name = other.unique_name
        seen = set()
        while name not in seen:
            seen.add(changes.get(timeout=10).body[0])
        assert bus.name_owner("org.example.Nobody") is None


def test_unreachable_bus_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    with pytest.raises(BusError, match="session bus"):
        SessionBus()


def test_unwrap_variants_reaches_into_structs():
    from trayrip.sessionbus import unwrap_variants

    shortcuts = ("a(sa{sv})", [("toggle-recording", {"trigger_description": ("s", "CTRL+r"), "n": ("u", 3)})])
    assert unwrap_variants(shortcuts) == [("toggle-recording", {"trigger_description": "CTRL+r", "n": 3})]
