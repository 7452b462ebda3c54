"""Follow the media player over MPRIS (the ``trayrip-nowplaying`` thread).

The watcher thread owns its own session-bus connection. jeepney's receiver
thread only puts matching signals into one queue (O(1)); this thread takes
them, asks the player for what it needs (Metadata, PlaybackStatus,
Position), decides which player to follow and posts :class:`PlayerEvent`
snapshots into the caller's queue. With several players it follows the one
that is playing (the one that started playing last); with ``app`` only
players whose bus name or Identity contains that text.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

from ..sessionbus import BusError, DBusAddress, HeaderFields, MatchRule, SessionBus, unwrap_variants
from .metadata import PlayerEvent, TrackInfo, track_from_metadata

__all__ = ["PlayerWatcher", "MPRIS_PREFIX"]

log = logging.getLogger(__name__)

MPRIS_PREFIX = "org.mpris.MediaPlayer2."
MPRIS_PATH = "/org/mpris/MediaPlayer2"
PLAYER_IFACE = "org.mpris.MediaPlayer2.Player"
ROOT_IFACE = "org.mpris.MediaPlayer2"


@dataclass
class _Player:
    name: str  # well-known name, org.mpris.MediaPlayer2.x
    owner: str  # unique name (signals come from it)
    identity: str = ""
    status: str = "Stopped"
    track: TrackInfo | None = None
    playing_since: float = 0.0


class PlayerWatcher:
    """Posts :class:`PlayerEvent` into ``out``; :meth:`start` returns once the first look is posted."""

    def __init__(
        self,
        out: queue.Queue,
        *,
        app: str | None = None,
        bus_factory: Callable[[], SessionBus] = SessionBus,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.out = out
        self.latest: PlayerEvent | None = None
        self.app = (app or "").lower() or None
        self._bus_factory = bus_factory
        self._clock = clock
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._players: dict[str, _Player] = {}  # by unique name
        self._active: str | None = None
        self._inbox: queue.Queue = queue.Queue(maxsize=1024)  # filled by jeepney's receiver thread; None stops
        self.error: str | None = None

    # -- caller's thread -------------------------------------------------
    def start(self, timeout: float = 5.0) -> None:
        """Start the thread; wait (up to ``timeout``) for the first snapshot. Never raises for bus trouble."""
        self._thread = threading.Thread(target=self._run, name="trayrip-nowplaying", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            log.warning("the media player watcher did not answer within %.0f s", timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        try:
            self._inbox.put_nowait(None)  # wakes the thread: it waits on the inbox without polling
        except queue.Full:
            pass  # it is busy with what is queued and sees the stop flag next
        if self._thread is not None:
            self._thread.join(timeout)

    # -- watcher thread --------------------------------------------------
    def _post(self, kind: str, arrival: float, player: _Player | None, position: tuple[float, float] | None = None):
        if player is None:
            event = PlayerEvent(kind, arrival)
        else:
            pos, at = position if position else (None, None)
            event = PlayerEvent(kind, arrival, player.name, player.status, player.track, pos, at)
        log.debug("player event %s", event)
        self.latest = event  # one reference: what plays now, for a display on another thread
        self.out.put(event)

    def _run(self) -> None:
        try:
            bus = self._bus_factory()
        except BusError as exc:
            self.error = str(exc)
            self._post("none", self._clock(), None)
            self._ready.set()
            return
        try:
            self._watch(bus)
        except Exception as exc:  # never a silently dead thread: say so, the recording goes on
            log.exception("the media player watcher failed")
            self.error = f"following the media player failed: {exc}"
            self._post("none", self._clock(), None)
        finally:
            self._ready.set()
            bus.close()

    def _watch(self, bus: SessionBus) -> None:
        inbox = self._inbox
        changed = MatchRule(type="signal", interface="org.freedesktop.DBus.Properties", member="PropertiesChanged",
                            path=MPRIS_PATH)
        changed.add_arg_condition(0, PLAYER_IFACE)
        owners = MatchRule(type="signal", sender="org.freedesktop.DBus", interface="org.freedesktop.DBus",
                           member="NameOwnerChanged")
        owners.add_arg_condition(0, "org.mpris.MediaPlayer2", kind="namespace")
        seeked = MatchRule(type="signal", interface=PLAYER_IFACE, member="Seeked", path=MPRIS_PATH)
        for rule in (changed, owners, seeked):
            bus.subscribe(rule, into=inbox)
        now = self._clock()
        for name in bus.list_names():
            if name.startswith(MPRIS_PREFIX):
                owner = bus.name_owner(name)
                if owner:
                    self._add(bus, name, owner, now)
        self._active = self._choose()
        active = self._players.get(self._active) if self._active else None
        self._post("state" if active else "none", now, active, self._position(bus, active))
        self._ready.set()
        while not self._stop.is_set():
            msg = inbox.get()
            if msg is None:
                break
            self._handle(bus, msg, self._clock())

    def _wanted(self, player: _Player) -> bool:
        return self.app is None or self.app in player.name.lower() or self.app in player.identity.lower()

    def _add(self, bus: SessionBus, name: str, owner: str, now: float) -> None:
        player = _Player(name, owner)
        address = DBusAddress(MPRIS_PATH, bus_name=owner)
        try:
            player.identity = str(bus.get_property(address, ROOT_IFACE, "Identity") or "")
        except BusError:
            pass
        try:
            props = bus.get_all_properties(address, PLAYER_IFACE)
        except BusError as exc:
            log.debug("%s answers no Player properties: %s", name, exc)
            props = {}
        player.status = str(props.get("PlaybackStatus") or "Stopped")
        player.track = track_from_metadata(props.get("Metadata") or {})
        player.playing_since = now if player.status == "Playing" else 0.0
        if self._wanted(player):
            self._players[owner] = player
            log.info("media player %s (%s): %s", name, player.identity or "?", player.status)

    def _choose(self) -> str | None:
        """The playing player that started last; else the current one if still there; else any."""
        playing = [p for p in self._players.values() if p.status == "Playing"]
        if playing:
            return max(playing, key=lambda p: p.playing_since).owner
        if self._active in self._players:
            return self._active
        return next(iter(self._players), None)

    def _position(self, bus: SessionBus, player: _Player | None) -> tuple[float, float] | None:
        if player is None:
            return None
        try:
            micro = bus.get_property(DBusAddress(MPRIS_PATH, bus_name=player.owner), PLAYER_IFACE, "Position")
        except BusError:
            return None
        try:
            return float(micro) / 1e6, self._clock()
        except (TypeError, ValueError):
            return None

    def _handle(self, bus: SessionBus, msg, now: float) -> None:
        member = msg.header.fields.get(HeaderFields.member)
        sender = msg.header.fields.get(HeaderFields.sender)
        if member == "NameOwnerChanged":
            name, old, new = msg.body
            if old and old in self._players:
                gone = self._players.pop(old)
                if old == self._active:
                    self._post("gone", now, replace(gone, status="Stopped"))
                    self._switch(bus, now)
            if new:
                self._add(bus, name, new, now)
                if self._active is None or self._players.get(new, _Player("", "")).status == "Playing":
                    self._switch(bus, now)
            return
        player = self._players.get(sender)
        if player is None:
            return
        if member == "Seeked":
            if sender == self._active:
                self._post("seeked", now, player, (float(msg.body[0]) / 1e6, now))
            return
        _iface, props, invalidated = msg.body
        props = unwrap_variants(props)
        kind = None
        if "Metadata" in props or "Metadata" in invalidated:
            md = props.get("Metadata")
            if md is None:
                try:
                    md = bus.get_property(DBusAddress(MPRIS_PATH, bus_name=sender), PLAYER_IFACE, "Metadata")
                except BusError:
                    md = {}
            track = track_from_metadata(md or {})
            # "Nothing loaded" after a track (the playlist ended) is no new track:
            # the last one stays what the player played, for "gone" and the timeline.
            if track != player.track and (track.loaded or player.track is None):
                kind = "track"
                player.track = track
        if "PlaybackStatus" in props:
            status = str(props["PlaybackStatus"])
            if status != player.status:
                if status == "Playing":
                    player.playing_since = now
                player.status = status
                kind = kind or "status"
        if kind is None:
            return
        if sender != self._active:
            if player.status == "Playing":
                self._switch(bus, now)
            return
        self._post(kind, now, player, self._position(bus, player) if player.status == "Playing" else None)
        if player.status != "Playing" and any(p.status == "Playing" for p in self._players.values()):
            self._switch(bus, now)

    def _switch(self, bus: SessionBus, now: float) -> None:
        chosen = self._choose()
        if chosen == self._active and chosen is not None:
            return
        self._active = chosen
        player = self._players.get(chosen) if chosen else None
        if player is None:
            self._post("none", now, None)
            return
        log.info("following %s", player.name)
        self._post("switch", now, player, self._position(bus, player))
