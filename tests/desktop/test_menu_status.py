"""The tray menu keeps its lines at fixed places as things come and go (issue 20, defect 11)."""
from __future__ import annotations

from test_controller import FakeMenu, _menu_tray

from trayrip.config import Config
from trayrip.desktop.controller import Snapshot
from trayrip.desktop.state import State

SNAPSHOTS = [
    Snapshot(),
    Snapshot(preroll=30.0, config=Config(preroll_seconds=30.0)),
    Snapshot(state=State.RECORDING, pending=2),
    Snapshot(state=State.ERROR, error="the sound server went away"),
    Snapshot(hotkey_problem="This is a Wayland session", config_problem="line 3: missing quote"),
    Snapshot(state=State.ARMED, preroll=10.0, pending=1),
]


def _labels(snap) -> list[str]:
    return ["---" if i is FakeMenu.SEPARATOR else i.text for i in _menu_tray(snap)._menu_items()]


def test_every_item_keeps_its_place_whatever_is_shown():
    layouts = [_labels(s) for s in SNAPSHOTS]
    assert len({len(layout) for layout in layouts}) == 1, layouts
    for place in ("Open recordings folder", "Recent recordings", "Settings", "Quit"):
        assert len({layout.index(place) for layout in layouts}) == 1, place
    quiet = layouts[0]
    assert quiet[2:5] == ["Save last seconds (pre-roll is off)", "No problems", "Clear error"]
    assert layouts[2][3] == "Saving 2 recordings…"


def test_the_fixed_lines_are_disabled_when_they_have_nothing_to_do():
    items = _menu_tray(Snapshot())._menu_items()
    assert [i.enabled for i in items[2:5]] == [False, False, False]
    items = _menu_tray(Snapshot(state=State.ERROR, error="x", preroll=30.0))._menu_items()
    assert [i.enabled for i in items[2:5]] == [True, False, True]
