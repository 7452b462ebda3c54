"""The tray's "Schedules" submenu and the tooltip's next run, from a :class:`ScheduleView` (main thread; pure).

The pystray classes are passed in (pystray has one home, ``tray.py``); menu
callbacks only submit a command to the controller (O(1)).
"""
from __future__ import annotations

from typing import Any, Callable

from .schedule_runner import ScheduleView

__all__ = ["schedule_items", "schedule_tooltip"]

HOW_TO = 'Add one: trayrip schedule add "Mon,Thu 20:00" --for 1h --name "Jazz hour"'


def schedule_tooltip(view: ScheduleView | None) -> str:
    """``"; scheduled: Jazz hour until 21:00"`` or ``"; next: Jazz hour Thu 20:00"`` (empty without schedules)."""
    if view is None:
        return ""
    if view.active:
        return f"; scheduled: {view.active}"
    return f"; next: {view.next}" if view.next else ""


def schedule_items(Item: Any, Menu: Any, view: ScheduleView | None, command: Callable[[Any], Any]) -> list:
    """One submenu per schedule (its next run; "On" check, "Remove"), or a hint how to add one.

    ``command(payload)`` makes the menu callback that submits ``Cmd.SCHEDULES`` with ``payload``.
    """
    rows = view.rows if view is not None else ()
    items: list = []
    if view is not None and view.problem:
        items.append(Item(f"Problem: {view.problem[:70]}", None, enabled=False))
    for row in rows:
        items.append(Item(row.label, Menu(
            Item("On", command(("enable", row.ident, not row.enabled)), checked=lambda _i, on=row.enabled: on),
            Item("Remove", command(("remove", row.ident))),
        )))
    if not rows:
        items.append(Item("(none)", None, enabled=False))
    items.append(Item(HOW_TO, None, enabled=False))
    items.append(Item("Reload schedules file", command(None)))
    return items
