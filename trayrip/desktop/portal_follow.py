"""What the desktop portal's signals mean for trayrip's one shortcut session (pure; any thread).

The portal's bus name can lose its owner (the portal crashed, or an upgrade
restarted it) and come back; the desktop can close the session, change the
key (``ShortcutsChanged``), or answer ``BindShortcuts`` after trayrip stopped
waiting (the user confirmed later). The ``trayrip-portal`` thread turns each
of these signals into a :class:`PortalEvent` with :func:`classify` (O(1)) and
queues it; the thread that owns the session (the controller) folds the queued
events with :func:`fold` into what to do, and does it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterable

from ..sessionbus import unwrap_variants

__all__ = ["GONE_MESSAGE", "PortalEvent", "Plan", "classify", "fold", "bound_trigger"]

log = logging.getLogger(__name__)

PORTAL_NAME = "org.freedesktop.portal.Desktop"
SHORTCUT_ID = "toggle-recording"
GONE_MESSAGE = "the desktop's shortcut service is gone; waiting for it"
CLOSED_AGAIN_MESSAGE = (
    "the desktop keeps closing trayrip's shortcut session; set the 'trayrip' shortcut in its keyboard "
    "settings, or bind 'trayrip toggle' there"
)
RECLOSE_SECONDS = 30.0  # a session closed again sooner than this after being re-created is not re-created


@dataclass(frozen=True)
class PortalEvent:
    """One thing the portal said: ``gone``, ``back``, ``closed``, ``trigger`` or ``bound`` (a late answer)."""

    kind: str
    session: str | None = None  # the session it is about (closed, trigger, bound)
    owner: str | None = None  # the portal's new unique bus name (back)
    trigger: str | None = None  # the desktop's trigger_description (trigger, bound)
    code: int = 0  # the response code of a late BindShortcuts (bound)


@dataclass(frozen=True)
class Plan:
    """What the owner does after folding the events: the new problem and trigger, and whether to bind again."""

    problem: str | None
    trigger: str | None
    rebind: str | None = None  # why to bind again: "back" (the portal returned) or "closed" (our session was)
    gone: bool = False


def bound_trigger(shortcuts: Iterable[Any]) -> str | None:
    """Our shortcut's ``trigger_description`` in an ``a(sa{sv})`` list (variants unwrapped or not), or None."""
    if isinstance(shortcuts, tuple) and len(shortcuts) == 2 and isinstance(shortcuts[0], str):
        shortcuts = shortcuts[1]  # still in its variant
    for item in shortcuts:
        if isinstance(item, (tuple, list)) and len(item) == 2 and item[0] == SHORTCUT_ID:
            return unwrap_variants(dict(item[1] or {})).get("trigger_description") or None
    return None


def classify(member: str | None, path: str | None, body: tuple, session: str | None) -> PortalEvent | None:
    """The event a signal means (``trayrip-portal`` thread, O(1)); None when it is not about us."""
    if member == "NameOwnerChanged" and len(body) == 3 and body[0] == PORTAL_NAME:
        return PortalEvent("back", owner=body[2]) if body[2] else PortalEvent("gone")
    if member == "Closed" and path is not None and path == session:
        return PortalEvent("closed", session=path)
    if member == "ShortcutsChanged" and len(body) == 2 and body[0] == session:
        trigger = bound_trigger(body[1])
        return PortalEvent("trigger", session=body[0], trigger=trigger) if trigger else None
    return None


def fold(events: Iterable[PortalEvent], problem: str | None, trigger: str | None, session: str | None,
         now: float, last_reclose: float | None, owner: str | None = None) -> Plan:
    """Apply ``events`` in order to the current (problem, trigger, session) -- a pure function.

    The portal gone: the session went with it; say so and wait. The portal back, or our
    session closed while it runs: bind again (once per :data:`RECLOSE_SECONDS` for a close,
    so a desktop that keeps closing it is not asked in a loop); not when our session already
    lives on that very portal (``owner``: it came while we were binding). A new trigger: show it.
    """
    rebind: str | None = None
    gone = False
    for ev in events:
        if ev.kind == "gone":
            problem, rebind, gone, session = GONE_MESSAGE, None, True, None
        elif ev.kind == "back":
            if not (session is not None and ev.owner is not None and ev.owner == owner):
                rebind = "back"
            gone = False
        elif ev.kind == "closed" and ev.session == session and not gone:
            session = None
            if last_reclose is not None and now - last_reclose < RECLOSE_SECONDS:
                problem, rebind = CLOSED_AGAIN_MESSAGE, None
            else:
                rebind = rebind or "closed"
        elif ev.kind == "trigger" and ev.session == session and ev.trigger:
            trigger = ev.trigger
        elif ev.kind == "bound" and ev.session in (None, session):  # not the answer for a session replaced since
            if ev.code == 0:
                problem = None if problem != GONE_MESSAGE else problem
                trigger = ev.trigger or trigger
            else:
                why = {1: "cancelled by the user"}.get(ev.code, "refused or failed")
                problem = f"the desktop did not bind the global shortcut ({why})"
    return Plan(problem=problem, trigger=trigger, rebind=rebind, gone=gone)
