"""A tiny MPRIS player for tests, whose metadata the test controls completely (trackids, blank fields).

Run as a program on the harness's session bus::

    python mpris_player.py PLAYLIST.json SINK

``PLAYLIST.json`` is a list of items ``{"file": WAV, "trackid": "/obj/path", "title": .., "artist": ..,
"album": .., "length": seconds}`` (blank or missing fields are left out of ``Metadata``). It owns
``org.mpris.MediaPlayer2.trayriptest``, answers ``Get``/``GetAll`` for the root and Player interfaces,
says ``READY`` on stdout and waits for ``play`` on stdin; then each item's metadata is published
(``PropertiesChanged``), the file is played into SINK with paplay, and the next follows. ``DONE`` ends.
Mpv with mpv-mpris cannot do this: it always names a file and has its own trackids.
"""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

BUS_NAME = "org.mpris.MediaPlayer2.trayriptest"
PATH = "/org/mpris/MediaPlayer2"
PLAYER = "org.mpris.MediaPlayer2.Player"
ROOT = "org.mpris.MediaPlayer2"


def _metadata(item: dict) -> dict:
    md = {"mpris:trackid": ("o", item.get("trackid") or "/org/mpris/MediaPlayer2/TrackList/NoTrack")}
    if item.get("title"):
        md["xesam:title"] = ("s", item["title"])
    if item.get("artist"):
        md["xesam:artist"] = ("as", [item["artist"]])
    if item.get("album"):
        md["xesam:album"] = ("s", item["album"])
    if item.get("length"):
        md["mpris:length"] = ("x", int(item["length"] * 1e6))
    return md


def serve(playlist: list[dict], sink: str) -> None:  # pragma: no cover - runs in its own process
    from jeepney import DBusAddress, HeaderFields, MatchRule, MessageType, new_error, new_method_return, new_signal
    from jeepney.bus_messages import message_bus
    from jeepney.io.threading import open_dbus_router

    with open_dbus_router(bus="SESSION") as router:
        (code,) = router.send_and_get_reply(message_bus.RequestName(BUS_NAME, 4)).body
        if code != 1:
            sys.exit(f"cannot own {BUS_NAME} (RequestName answered {code})")
        calls = router.filter(MatchRule(type="method_call"), bufsize=256)
        state = {"md": {"mpris:trackid": ("o", "/org/mpris/MediaPlayer2/TrackList/NoTrack")}, "status": "Stopped",
                 "since": time.monotonic()}
        emitter = DBusAddress(PATH, interface="org.freedesktop.DBus.Properties")

        def player_props() -> dict:
            position = int((time.monotonic() - state["since"]) * 1e6) if state["status"] == "Playing" else 0
            return {"Metadata": ("a{sv}", state["md"]), "PlaybackStatus": ("s", state["status"]),
                    "Position": ("x", position), "CanPlay": ("b", True), "CanPause": ("b", True)}

        def publish(md: dict, status: str) -> None:
            state.update(md=md, status=status, since=time.monotonic())
            changed = {"Metadata": ("a{sv}", md), "PlaybackStatus": ("s", status)}
            router.send(new_signal(emitter, "PropertiesChanged", "sa{sv}as", (PLAYER, changed, [])))

        def play() -> None:
            sys.stdin.readline()
            for item in playlist:
                publish(_metadata(item), "Playing")
                print(f"PLAYING {item.get('title') or '-'}", flush=True)
                subprocess.run(["paplay", f"--device={sink}", "--client-name=trayrip-test-player", item["file"]],
                               check=True, timeout=120)
            publish(state["md"], "Stopped")
            print("DONE", flush=True)

        threading.Thread(target=play, daemon=True).start()
        print("READY", flush=True)
        while True:
            msg = calls.queue.get()
            if msg.header.message_type != MessageType.method_call:
                continue
            f = msg.header.fields
            iface, member = f.get(HeaderFields.interface), f.get(HeaderFields.member)
            if iface == "org.freedesktop.DBus.Properties" and member in ("Get", "GetAll"):
                props = player_props() if msg.body[0] == PLAYER else {"Identity": ("s", "trayrip test player")} \
                    if msg.body[0] == ROOT else {}
                if member == "GetAll":
                    router.send(new_method_return(msg, "a{sv}", (props,)))
                elif msg.body[1] in props:
                    router.send(new_method_return(msg, "v", (props[msg.body[1]],)))
                else:
                    router.send(new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs", "s", ("no such property",)))
            else:
                router.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s",
                                      (f"{iface}.{member} is not implemented by the test player",)))


if __name__ == "__main__":  # pragma: no cover
    with open(sys.argv[1], encoding="utf-8") as fh:
        serve(json.load(fh), sys.argv[2])
