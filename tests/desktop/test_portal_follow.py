"""The Wayland hotkey following the desktop portal, with fakes (no bus): what signals mean, what the owner
does, the key shown. The real portal frontend is in tests/system/test_portal_hotkeys_system.py."""
from __future__ import annotations

import queue
import threading
from types import SimpleNamespace

import pytest

from trayrip.config import Config
from trayrip.desktop.controller import Cmd, Snapshot
from trayrip.desktop.hotkey_view import key_label, status_line, tooltip_note
from trayrip.desktop.hotkeys import HotkeyManager
from trayrip.desktop.portal_follow import (
    CLOSED_AGAIN_MESSAGE, GONE_MESSAGE, PORTAL_NAME, RECLOSE_SECONDS, SHORTCUT_ID, PortalEvent, bound_trigger,
    classify, fold,
)
from trayrip.desktop.portal_hotkeys import PortalBackend, trigger_label
from trayrip.desktop.state import State
from trayrip.desktop.tray import tooltip
from trayrip.sessionbus import BusError, HeaderFields

SESSION = "/org/freedesktop/portal/desktop/session/1_7/trayrip1_2"


# ---------------------------------------------------------------- pure: what a signal means, what to do

def test_classify_the_portal_leaving_and_returning_our_session_closed_and_the_key_changed():
    assert classify("NameOwnerChanged", "/org/freedesktop/DBus", (PORTAL_NAME, ":1.5", ""), SESSION) == \
        PortalEvent("gone")
    assert classify("NameOwnerChanged", "/org/freedesktop/DBus", (PORTAL_NAME, "", ":1.9"), SESSION) == \
        PortalEvent("back", owner=":1.9")
    assert classify("NameOwnerChanged", "/", ("org.other.Name", "", ":1.9"), SESSION) is None
    assert classify("Closed", SESSION, (), SESSION) == PortalEvent("closed", session=SESSION)
    assert classify("Closed", SESSION + "x", (), SESSION) is None  # an older session of ours
    changed = [(SHORTCUT_ID, {"trigger_description": ("s", "CTRL+ALT+F9")})]
    assert classify("ShortcutsChanged", "/", (SESSION, changed), SESSION) == \
        PortalEvent("trigger", session=SESSION, trigger="CTRL+ALT+F9")
    assert classify("ShortcutsChanged", "/", (SESSION + "x", changed), SESSION) is None
    assert classify("ShortcutsChanged", "/", (SESSION, [("other", {"trigger_description": "F1"})]), SESSION) is None


def test_bound_trigger_reads_wrapped_and_plain_lists():
    assert bound_trigger([(SHORTCUT_ID, {"trigger_description": ("s", "F9")})]) == "F9"
    assert bound_trigger([("x", {"trigger_description": "F1"}), (SHORTCUT_ID, {})]) is None
    assert bound_trigger([]) is None


def test_fold_gone_then_back_binds_again_and_clears_nothing_until_it_did():
    plan = fold([PortalEvent("gone")], None, "CTRL+F9", SESSION, 100.0, None)
    assert (plan.problem, plan.trigger, plan.rebind, plan.gone) == (GONE_MESSAGE, "CTRL+F9", None, True)
    plan = fold([PortalEvent("back")], GONE_MESSAGE, "CTRL+F9", None, 101.0, None)
    assert plan.rebind == "back" and plan.problem == GONE_MESSAGE  # cleared by the bind that follows
    # gone and back in one go: bind again; back then gone: wait
    assert fold([PortalEvent("gone"), PortalEvent("back")], None, None, SESSION, 0, None).rebind == "back"
    plan = fold([PortalEvent("back"), PortalEvent("gone")], None, None, SESSION, 0, None)
    assert plan.rebind is None and plan.gone and plan.problem == GONE_MESSAGE
    # the portal started (activated) while we were binding: our session is on it already
    assert fold([PortalEvent("back", owner=":1.9")], None, None, SESSION, 0, None, ":1.9").rebind is None
    assert fold([PortalEvent("back", owner=":1.9")], None, None, SESSION, 0, None, ":1.4").rebind == "back"


def test_fold_a_closed_session_is_reopened_but_not_in_a_loop():
    closed = PortalEvent("closed", session=SESSION)
    assert fold([closed], None, None, SESSION, 100.0, None).rebind == "closed"
    assert fold([closed], None, None, SESSION, 100.0, 100.0 - RECLOSE_SECONDS - 1).rebind == "closed"
    plan = fold([closed], None, None, SESSION, 100.0, 95.0)  # closed again 5 s after we reopened it
    assert plan.rebind is None and plan.problem == CLOSED_AGAIN_MESSAGE
    assert fold([closed], None, None, "/other", 100.0, None).rebind is None  # not the session we have now


def test_fold_takes_the_key_the_desktop_bound_from_a_change_or_a_late_answer():
    plan = fold([PortalEvent("trigger", session=SESSION, trigger="CTRL+ALT+F9")], None, "CTRL+ALT+SHIFT+r",
                SESSION, 0, None)
    assert plan.trigger == "CTRL+ALT+F9" and plan.rebind is None
    stale = PortalEvent("trigger", session="/old", trigger="F1")
    assert fold([stale], None, "F2", SESSION, 0, None).trigger == "F2"
    late = fold([PortalEvent("bound", trigger="CTRL+ALT+F9", code=0)], None, None, SESSION, 0, None)
    assert (late.problem, late.trigger) == (None, "CTRL+ALT+F9")
    refused = fold([PortalEvent("bound", code=1)], None, None, SESSION, 0, None)
    assert refused.problem == "the desktop did not bind the global shortcut (cancelled by the user)"
    replaced = PortalEvent("bound", session="/older", trigger="F1", code=0)  # its session was replaced since
    assert fold([replaced], None, "F2", SESSION, 0, None).trigger == "F2"


@pytest.mark.parametrize("description, label", [
    ("CTRL+ALT+SHIFT+r", "Ctrl+Alt+Shift+R"),
    ("CTRL+ALT+F9", "Ctrl+Alt+F9"),
    ("Ctrl+Alt+F9", "Ctrl+Alt+F9"),  # KDE's wording
    ("LOGO+slash", "Super+/"),
    ("CTRL+SHIFT+Prior", "Ctrl+Shift+PageUp"),
    ("Press Ctrl twice", "Press Ctrl twice"),  # unknown: shown as the desktop says it
    ("HYPER+x", "HYPER+x"),
])
def test_trigger_label_shows_the_desktops_key_the_way_trayrip_writes_keys(description, label):
    assert trigger_label(description) == label


# ---------------------------------------------------------------- what is shown

def test_the_key_the_desktop_bound_is_shown_in_menu_tooltip_and_doctor():
    snap = Snapshot(config=Config(hotkey="<ctrl>+<alt>+<shift>+r"))
    assert key_label(snap) == "Ctrl+Alt+Shift+R" and status_line(snap) == "ok Ctrl+Alt+Shift+R"
    assert "(Ctrl+Alt+Shift+R records)" in tooltip(snap)
    snap = Snapshot(config=Config(hotkey="<ctrl>+<alt>+<shift>+r"), hotkey_trigger="Ctrl+Alt+F9")
    assert "(Ctrl+Alt+F9 records)" in tooltip(snap)
    assert status_line(snap) == "ok Ctrl+Alt+F9 (bound by the desktop)"
    gone = Snapshot(config=Config(), hotkey_problem=GONE_MESSAGE)
    assert tooltip(gone).endswith(f"; hotkey: {GONE_MESSAGE}") and tooltip_note(gone)
    assert status_line(gone) == f"problem Ctrl+Alt+Shift+R: {GONE_MESSAGE}"
    long = Snapshot(config=Config(), hotkey_problem="This is a Wayland session and " + "x" * 200)
    assert tooltip_note(long) == "; hotkey problem (see the menu)"


def test_the_controller_runs_a_hotkey_follow_up_on_its_thread_and_shows_its_key(tmp_path):
    from test_controller import Harnessless

    h = Harnessless(tmp_path)
    seen = []

    def follow():
        seen.append(threading.current_thread())
        return GONE_MESSAGE, "Ctrl+Alt+F9"

    snap = h.send((Cmd.HOTKEY_STATUS, follow))
    assert seen == [threading.current_thread()]  # run_pending runs the controller's work here
    assert (snap.hotkey_problem, snap.hotkey_trigger) == (GONE_MESSAGE, "Ctrl+Alt+F9")
    snap = h.send((Cmd.HOTKEY_STATUS, None))  # a plain problem report keeps the key
    assert (snap.hotkey_problem, snap.hotkey_trigger) == (None, "Ctrl+Alt+F9")
    assert snap.state is State.IDLE


# ---------------------------------------------------------------- the backend, on a fake bus

def _msg(member: str, path: str, body: tuple, interface: str = "") -> SimpleNamespace:
    fields = {HeaderFields.member: member, HeaderFields.path: path, HeaderFields.interface: interface}
    return SimpleNamespace(header=SimpleNamespace(fields=fields), body=body)


class FakePortalBus:
    """A session bus with a portal that opens sessions and binds at once (answers come on the signal queue)."""

    unique_name = ":1.7"

    def __init__(self, trigger: str = "CTRL+ALT+SHIFT+r"):
        self.queue: queue.Queue | None = None
        self.trigger = trigger
        self.calls: list[str] = []
        self.sessions = 0
        self.closed: list[str] = []
        self.gone = False
        self.rules = 0

    def name_owner(self, name):
        return None if self.gone else f":1.{40 + self.sessions}"

    def subscribe(self, rule, maxsize=256, into=None):
        self.rules += 1
        self.queue = into if into is not None else queue.Queue(maxsize=maxsize)
        return self.queue

    def unsubscribe(self, q):
        pass

    def close(self):
        pass

    def call(self, msg, timeout=None):
        member = msg.header.fields[HeaderFields.member]
        self.calls.append(member)
        if self.gone:
            raise BusError("org.freedesktop.DBus.Error.ServiceUnknown: gone", name="org.freedesktop.DBus.Error.ServiceUnknown")
        if member == "Register":
            raise BusError("no registry", name="org.freedesktop.DBus.Error.UnknownMethod")
        if member == "Close":
            self.closed.append(msg.header.fields[HeaderFields.path])
            return ()
        token = msg.body[-1]["handle_token"][1]
        request = f"/org/freedesktop/portal/desktop/request/1_7/{token}"
        if member == "CreateSession":
            self.sessions += 1
            results = {"session_handle": ("s", f"/org/freedesktop/portal/desktop/session/1_7/s{self.sessions}")}
        else:
            results = {"shortcuts": ("a(sa{sv})", [(SHORTCUT_ID, {"trigger_description": ("s", self.trigger)})])}
        self.queue.put(_msg("Response", request, (0, results), "org.freedesktop.portal.Request"))
        return (request,)

    def signal(self, member: str, path: str, body: tuple) -> None:
        self.queue.put(_msg(member, path, body))


def test_portal_backend_hands_signals_to_the_owner_and_binds_again_when_the_portal_returns():
    bus = FakePortalBus()
    wakes: queue.SimpleQueue = queue.SimpleQueue()
    fired = threading.Semaphore(0)
    backend = PortalBackend(bus_factory=lambda: bus, timeout=5, confirm_timeout=5)
    manager = HotkeyManager(fired.release, backend, env={}, platform="linux", on_change=lambda: wakes.put(1))
    try:
        assert manager.bind("<ctrl>+<alt>+<shift>+r") is None
        assert wakes.get(timeout=5) and manager.follow() == (None, "Ctrl+Alt+Shift+R")
        assert bus.rules == 5  # Activated, Response, NameOwnerChanged, Closed, ShortcutsChanged
        session = backend._session

        bus.gone = True
        bus.signal("NameOwnerChanged", "/org/freedesktop/DBus", (PORTAL_NAME, ":1.3", ""))
        assert wakes.get(timeout=5) and manager.follow() == (GONE_MESSAGE, "Ctrl+Alt+Shift+R")
        bus.signal("Activated", "/org/freedesktop/portal/desktop", (session, SHORTCUT_ID, 1, {}))
        bus.gone = False
        bus.trigger = "CTRL+ALT+F9"  # the desktop remembered another key for us
        bus.signal("NameOwnerChanged", "/org/freedesktop/DBus", (PORTAL_NAME, "", ":1.4"))
        assert wakes.get(timeout=5)
        before = list(bus.calls)
        assert manager.follow() == (None, "Ctrl+Alt+F9")
        assert bus.calls[len(before):] == ["Register", "CreateSession", "BindShortcuts"]  # no Close of the dead one
        assert backend._session != session and bus.closed == []
        assert not fired.acquire(timeout=0)  # the Activated of the dead session did nothing
        bus.signal("Activated", "/org/freedesktop/portal/desktop", (backend._session, SHORTCUT_ID, 2, {}))
        assert fired.acquire(timeout=5)

        # the same hotkey again (a config reload): nothing is asked of the desktop
        calls = len(bus.calls)
        assert manager.bind("<ctrl>+<alt>+<shift>+r") is None and len(bus.calls) == calls
        # another hotkey: the session is closed and a new one binds it
        assert manager.bind("<ctrl>+<shift>+<f12>") is None
        assert bus.closed == [f"/org/freedesktop/portal/desktop/session/1_7/s{bus.sessions - 1}"]
        assert wakes.get(timeout=5) and manager.follow() == (None, "Ctrl+Alt+F9")
        assert wakes.empty()
    finally:
        manager.stop()


def test_portal_backend_a_closed_session_is_reopened_once():
    bus = FakePortalBus()
    now = [1000.0]
    wakes: queue.SimpleQueue = queue.SimpleQueue()
    backend = PortalBackend(bus_factory=lambda: bus, timeout=5, confirm_timeout=5, clock=lambda: now[0])
    manager = HotkeyManager(lambda: None, backend, env={}, platform="linux", on_change=lambda: wakes.put(1))
    try:
        manager.bind("<ctrl>+<alt>+<shift>+r")
        wakes.get(timeout=5)
        manager.follow()
        bus.signal("Closed", backend._session, ())
        wakes.get(timeout=5)
        assert manager.follow() == (None, "Ctrl+Alt+Shift+R") and bus.sessions == 2
        now[0] += 5  # closed again at once: a desktop that refuses us; do not ask in a loop
        bus.signal("Closed", backend._session, ())
        wakes.get(timeout=5)
        assert manager.follow() == (CLOSED_AGAIN_MESSAGE, "Ctrl+Alt+Shift+R") and bus.sessions == 2
    finally:
        manager.stop()
