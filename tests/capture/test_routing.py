"""Per-application routing with a fake pactl / pw-dump (no sound server)."""
from __future__ import annotations

import copy
import json
import os

import pytest

from trayrip.capture import routing
from trayrip.capture.routing import AppRoute, AppStream
from trayrip.errors import CaptureError

NO_SINK = 4294967295

CLIENTS = [
    {"index": 80, "properties": {"application.name": "Music Player", "application.process.binary": "mpv",
                                 "application.process.id": "4242"}},
]


def sink_input(index, name, sink=44, binary=None, pid=None, client=None, node=None, module=None, **props):
    p = {"application.name": name, **props}
    if binary:
        p["application.process.binary"] = binary
    if pid:
        p["application.process.id"] = str(pid)
    if node is not None:
        p["object.id"] = str(node)
    return {"index": index, "sink": sink, "client": str(client) if client is not None else None,
            "owner_module": module, "properties": p}


SINK_INPUTS = [
    sink_input(56, "pw-cat", sink=NO_SINK, client=3, **{"node.name": "decoy-tone"}),  # linked to no sink
    sink_input(81, "", client=80, node=70, module="0"),                                # name from its client
    sink_input(90, "Firefox", binary="firefox-esr", pid=1000, node=75, client=81),
    sink_input(91, "Loopback", module="7"),                                            # a module's: no client
    sink_input(92, "something", client=82, **{"node.name": "trayrip-capture"}),       # ours
]


def test_parse_sink_inputs_keeps_heard_application_streams_only():
    found = routing.parse_sink_inputs(SINK_INPUTS, CLIENTS)
    assert [(s.index, s.app, s.binary, s.pid, s.sink, s.node_id) for s in found] == [
        (81, "Music Player", "mpv", 4242, 44, 70),
        (90, "Firefox", "firefox-esr", 1000, 44, 75),
    ]


def test_match_by_name_or_binary_case_insensitive_and_the_listing():
    found = routing.parse_sink_inputs(SINK_INPUTS, CLIENTS)
    assert [s.index for s in routing.match_streams(found, "MPV")] == [81]
    assert [s.index for s in routing.match_streams(found, "fire")] == [90]
    assert routing.match_streams(found, "vlc") == []
    text = routing.describe_playing(found)
    assert "Music Player (mpv, pid 4242)" in text and "Firefox (firefox-esr, pid 1000)" in text
    assert routing.describe_playing([]) == "no application is playing"


def port(pid, node, direction, channel):
    return {"id": pid, "type": "PipeWire:Interface:Port",
            "info": {"direction": direction, "props": {"node.id": node, "audio.channel": channel,
                                                       "port.name": f"x_{channel}"}}}


def sink_ports_named_for(route) -> list[dict]:
    """Our sink's input ports (node 99) as PipeWire shows them: aliased by the sink's description alone."""
    ours = [port(3, 99, "input", "FL"), port(4, 99, "input", "FR")]
    for p in ours:
        p["info"]["props"]["port.alias"] = f"{route._description}:playback_{p['info']['props']['audio.channel']}"
    return ours


def test_ports_are_linked_channel_by_channel_and_mono_to_both():
    dump = [port(1, 70, "output", "FL"), port(2, 70, "output", "FR"), port(3, 99, "input", "FL"),
            port(4, 99, "input", "FR"), port(5, 71, "output", "MONO"),
            {"id": 99, "type": "PipeWire:Interface:Node", "info": {"props": {"node.name": "trayrip_app_1_0"}}}]
    ports = routing.parse_pw_ports(dump)
    assert routing._node_of(dump, "trayrip_app_1_0") == 99
    assert routing.plan_links(ports[70], ports[99]) == [(1, 3), (2, 4)]
    assert routing.plan_links(ports[71], ports[99]) == [(5, 3), (5, 4)]


SHORT_MODULES = (
    "1\tmodule-null-sink\tsink_name=trayrip_app_111_ab rate=48000 sink_properties='device.description=x y=z'\t\n"
    "2\tmodule-loopback\tsource=trayrip_app_111_ab.monitor sink=44 latency_msec=20\t\n"
    "3\tmodule-null-sink\tsink_name=trayrip_app_222_cd\t\n"
    "4\tmodule-null-sink\tsink_name=speakers\t\n"
    "5\tmodule-native-protocol-unix\t\t\n"
)


def test_leftovers_are_modules_of_dead_owners_only():
    modules = routing.parse_short_modules(SHORT_MODULES)
    assert [m["index"] for m in modules] == [1, 2, 3, 4, 5]
    left = routing.leftover_modules(modules, alive=lambda pid: pid == 222)
    assert left == [(1, "trayrip_app_111_ab", None), (2, "trayrip_app_111_ab", "44")]


class FakeServer:
    """A tiny PulseAudio: answers the pactl calls routing makes and records them."""

    def __init__(self, sink_inputs, pipewire=False, refuse_moves=0):
        self.sink_inputs = copy.deepcopy(sink_inputs)
        self.sinks = {44: "speakers"}
        self.default = "speakers"
        self.refuse_moves = refuse_moves  # moves the server undoes (WirePlumber 0.5 with a brand-new sink)
        self.calls: list[list[str]] = []
        self.modules: dict[int, str] = {}
        self.pipewire = pipewire
        self.links: list[tuple[str, str]] = []

    def __call__(self, argv, timeout=5.0):
        self.calls.append(list(argv))
        if argv[0] == "pw-dump":
            return json.dumps([port(1, 75, "output", "FL"), port(2, 75, "output", "FR"),
                               port(3, 99, "input", "FL"), port(4, 99, "input", "FR"),
                               {"id": 99, "type": "PipeWire:Interface:Node",
                                "info": {"props": {"node.name": self.sink_name}}}])
        if argv[0] == "pw-link":
            self.links.append((argv[1], argv[2]))
            return ""
        args = [a for a in argv[1:] if a != "--format=json"]
        if args == ["info"] and "--format=json" in argv:
            return json.dumps({"server_name": "pulseaudio", "default_sink_name": self.default})
        if args == ["info"]:
            return "Server Name: " + ("PulseAudio (on PipeWire 0.3.65)" if self.pipewire else "pulseaudio")
        if args == ["list", "sink-inputs"]:
            return json.dumps(self.sink_inputs)
        if args == ["list", "clients"]:
            return json.dumps(CLIENTS)
        if args == ["list", "short", "modules"]:
            return ""
        if args == ["list", "sinks"]:
            return json.dumps([{"index": i, "name": n} for i, n in self.sinks.items()])
        if args[0] == "load-module":
            index = len(self.modules) + 10
            self.modules[index] = " ".join(args[1:])
            if args[1] == "module-null-sink":
                self.sink_name = args[2].split("=", 1)[1]
                self.sinks[index + 100] = self.sink_name
            if args[1] == "module-loopback":  # its own stream: no client, owned by the module
                to = {n: i for i, n in self.sinks.items()}[next(a[5:] for a in args if a.startswith("sink="))]
                self.sink_inputs.append(sink_input(500 + index, "trayrip-loopback", sink=to, module=str(index)))
            return f"{index}\n"
        if args[0] == "unload-module":
            del self.modules[int(args[1])]
            self.sinks.pop(int(args[1]) + 100, None)
            self.sink_inputs = [si for si in self.sink_inputs if si["owner_module"] != args[1]]
            return ""
        if args[0] == "move-sink-input":
            if self.refuse_moves:
                self.refuse_moves -= 1
                return ""
            by_name = {n: i for i, n in self.sinks.items()}
            by_name["@DEFAULT_SINK@"] = by_name[self.default]
            target = by_name.get(args[2], int(args[2]) if args[2].isdigit() else None)
            for si in self.sink_inputs:
                if str(si["index"]) == args[1]:
                    si["sink"] = target
            return ""
        if args[0] == "subscribe":
            return ""
        raise AssertionError(f"unexpected call {argv}")


@pytest.fixture(autouse=True)
def fresh_server_kind():
    """Each fake server is asked what it is (trayrip remembers it per session server)."""
    routing._SERVER_KIND.clear()
    yield
    routing._SERVER_KIND.clear()


@pytest.fixture
def no_follow(monkeypatch):
    monkeypatch.setattr(AppRoute, "_start_following", lambda self: None)


def test_pulseaudio_route_moves_with_a_loopback_and_undoes_it(monkeypatch, no_follow):
    server = FakeServer(SINK_INPUTS)
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox")
    route.start()
    assert route.pipewire is False and "Firefox" in route.description
    moves = [c for c in server.calls if c[1] == "move-sink-input"]
    assert moves == [["pactl", "move-sink-input", "90", route.sink]]
    kinds = sorted(m.split()[0] for m in server.modules.values())
    assert kinds == ["module-loopback", "module-null-sink"]
    loopback = next(m for m in server.modules.values() if m.startswith("module-loopback"))
    assert f"source={route.monitor}" in loopback and "sink=speakers" in loopback
    server.calls.clear()
    route.stop()
    # back first, to the default output it followed (the server then lets it follow the default again)
    assert server.calls[0] == ["pactl", "move-sink-input", "90", "@DEFAULT_SINK@"]
    assert server.modules == {}
    route.stop()  # idempotent


def test_pulseaudio_loopback_of_the_default_output_follows_the_default(monkeypatch, no_follow):
    server = FakeServer(SINK_INPUTS)
    server.sinks[45] = "headphones"
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox")
    route.start()
    loopback = next(si for si in server.sink_inputs if si["properties"]["application.name"] == "trayrip-loopback")
    assert loopback["sink"] == 44
    route._follow = object()  # running
    server.default = "headphones"
    route._following(iter(["Event 'change' on server #4294967295\n"]))
    assert loopback["sink"] == 45  # heard on the new default
    del server.sinks[45]  # unplugged: the server rescues the loopback to the default, and says so
    server.default, loopback["sink"] = "speakers", 44
    calls = len(server.calls)
    route._following(iter(["Event 'remove' on sink #45\n"]))
    assert not [c for c in server.calls[calls:] if c[1] == "move-sink-input"]  # already there: nothing moved
    route._follow = None
    route.stop()
    assert server.modules == {}


def test_pulseaudio_loopback_of_a_chosen_output_stays_there(monkeypatch, no_follow):
    server = FakeServer([sink_input(90, "Firefox", sink=45, binary="firefox-esr", pid=1000, client=81)])
    server.sinks[45] = "headphones"  # the user chose it for this application; the default is the speakers
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox")
    route.start()
    loopback = next(si for si in server.sink_inputs if si["properties"]["application.name"] == "trayrip-loopback")
    route._follow = object()
    route._following(iter(["Event 'change' on server #4294967295\n"]))
    assert loopback["sink"] == 45
    assert not [c for c in server.calls if c[1] == "move-sink-input" and c[2] != "90"]
    server.calls.clear()
    route._follow = None
    route.stop()
    assert server.calls[0] == ["pactl", "move-sink-input", "90", "45"]  # back to the chosen output


def test_pipewire_route_links_ports_and_never_moves(monkeypatch, no_follow):
    server = FakeServer(SINK_INPUTS, pipewire=True)
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox")
    route.start()
    assert route.pipewire is True
    assert server.links == [("1", "3"), ("2", "4")]
    assert not [c for c in server.calls if "move-sink-input" in c]
    route.stop()
    assert server.modules == {}


def test_no_match_names_what_is_playing_and_changes_nothing(monkeypatch, no_follow):
    server = FakeServer(SINK_INPUTS)
    monkeypatch.setattr(routing, "_run", server)
    with pytest.raises(CaptureError, match=r"no playing application matches 'vlc'.*Music Player \(mpv, pid 4242\)"):
        AppRoute("vlc").start()
    assert server.modules == {}


def test_app_stream_matches():
    s = AppStream(1, "Music Player", "mpv", 1, 2)
    assert s.matches("music") and s.matches("MP") and not s.matches("vlc")


def test_follow_routes_a_new_stream_of_the_app_once_and_ignores_others(monkeypatch, no_follow):
    server = FakeServer(list(SINK_INPUTS))
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox")
    route.start()
    # a second Firefox stream appears, first unlinked (not heard), then on sink 44
    def events():
        server.sink_inputs.append(sink_input(93, "Firefox", sink=NO_SINK, binary="firefox-esr", client=81))
        yield "Event 'new' on sink-input #93\n"
        server.sink_inputs[-1] = sink_input(93, "Firefox", sink=44, binary="firefox-esr", client=81)
        yield from ["Event 'change' on sink-input #93\n", "Event 'change' on sink-input #93\n",
                    "Event 'change' on sink-input #81\n", "Event 'change' on sink-input #81\n",
                    "Event 'new' on source-output #5\n"]

    route._follow = object()  # running
    server.calls.clear()
    route._following(events())
    moves = [c for c in server.calls if c[1] == "move-sink-input"]
    assert moves == [["pactl", "move-sink-input", "93", route.sink]]
    # after the first look, events of decided streams (the moved one, the other app) cost no call
    assert sum(c[1:] == ["--format=json", "list", "sink-inputs"] for c in server.calls) == 2
    route._follow = None
    route.stop()
    assert server.modules == {}


@pytest.mark.parametrize("pipewire", [False, True])
def test_muted_route_moves_without_playing_back_and_remembers_where_from(monkeypatch, no_follow, pipewire):
    server = FakeServer(SINK_INPUTS, pipewire=pipewire)
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox", muted=True)
    route.start()
    assert "muted" in route.description
    assert [m.split()[0] for m in server.modules.values()] == ["module-null-sink"]  # no loopback: not heard
    # it played on the default output: back to the default, whichever output that is by then
    assert "trayrip.return_to=@DEFAULT_SINK@" in next(iter(server.modules.values()))
    assert [c for c in server.calls if c[1] == "move-sink-input"] == [["pactl", "move-sink-input", "90", route.sink]]
    assert not server.links  # on PipeWire a move as well (WirePlumber would link an unlinked stream again)
    server.calls.clear()
    route.stop()
    assert server.calls[0] == ["pactl", "move-sink-input", "90", "@DEFAULT_SINK@"] and server.modules == {}


@pytest.mark.parametrize("muted", [False, True])
def test_a_stream_on_another_output_than_the_default_goes_back_to_that_output(monkeypatch, no_follow, muted):
    server = FakeServer(SINK_INPUTS)
    server.sinks[45] = server.default = "headphones"  # the stream plays on the speakers, not the default
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox", muted=muted)
    route.start()
    assert all("trayrip.return_to=speakers" in m for m in server.modules.values() if "sink_name=" not in m or muted)
    route.stop()
    assert ["pactl", "move-sink-input", "90", "44"] in server.calls and server.modules == {}


def test_a_killed_heard_route_sends_its_streams_to_the_default_output_they_followed():
    """The loopback may have followed the default to the headphones: after a kill -9 the streams go to the
    default output, not to the output the loopback was made for."""
    modules = routing.parse_short_modules(
        "2\tmodule-loopback\tsource=trayrip_app_111_ab.monitor sink=speakers latency_msec=20 "
        "sink_input_properties='media.name=trayrip_app_111_ab application.name=trayrip-loopback "
        "trayrip.return_to=@DEFAULT_SINK@'\t\n")
    assert routing.leftover_modules(modules, alive=lambda pid: False) == [(2, "trayrip_app_111_ab", "@DEFAULT_SINK@")]


def test_muted_on_pipewire_moves_again_when_the_server_puts_the_stream_back(monkeypatch, no_follow):
    server = FakeServer(SINK_INPUTS, pipewire=True, refuse_moves=2)
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox", muted=True)
    route.start()
    assert [c for c in server.calls if c[1] == "move-sink-input"] == [["pactl", "move-sink-input", "90", route.sink]] * 3
    assert next(si for si in server.sink_inputs if si["index"] == 90)["sink"] == 110  # on our sink at last
    route.stop()
    stubborn = FakeServer(SINK_INPUTS, pipewire=True, refuse_moves=10**6)
    monkeypatch.setattr(routing, "_run", stubborn)
    with pytest.raises(CaptureError, match="cannot record it muted"):
        AppRoute("firefox", muted=True).start()
    assert stubborn.modules == {}  # the private sink is gone again


def test_a_killed_muted_route_sends_its_streams_back_where_they_came_from():
    modules = routing.parse_short_modules(
        "7\tmodule-null-sink\tsink_name=trayrip_app_111_ab rate=48000 "
        "sink_properties='device.description=trayrip-111 priority.session=0 trayrip.return_to=alsa_output.pci-0'\t\n")
    assert routing.leftover_modules(modules, alive=lambda pid: False) == [(7, "trayrip_app_111_ab", "alsa_output.pci-0")]


def test_muted_needs_an_app(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "trayrip", "record", "--muted", "-d", "1", "--folder", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "app" in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_events_and_looks_gives_lines_and_a_look_at_each_quiet_gap():
    read_end, write_end = os.pipe()
    proc = type("P", (), {"stdout": os.fdopen(read_end, "rb")})()
    lines = routing.events_and_looks(proc, (0.01, 0.01), repeat_last=True)
    assert next(lines) is None  # nothing came: look anyway
    os.write(write_end, b"Event 'new' on sink-input #7\nEvent 'ch")
    assert next(lines) == "Event 'new' on sink-input #7\n"
    os.write(write_end, b"ange' on sink-input #7\n")
    assert next(lines) == "Event 'change' on sink-input #7\n"
    assert next(lines) is None and next(lines) is None  # the last gap repeats
    os.close(write_end)
    assert list(lines) == []
    proc.stdout.close()


def test_follow_finds_a_stream_that_came_before_the_subscription_heard_anything(monkeypatch, no_follow):
    server = FakeServer(list(SINK_INPUTS))
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox")
    route.start()
    server.sink_inputs.append(sink_input(93, "Firefox", sink=44, binary="firefox-esr", client=81))
    route._follow = object()  # running
    route._following(iter([None]))  # no event at all: only the first look
    assert [c for c in server.calls if c[1] == "move-sink-input"][-1] == ["pactl", "move-sink-input", "93", route.sink]
    route._follow = None
    route.stop()


class _ArmedRoute:
    """A route whose application plays from the ``plays``-th try on."""

    name = "mpv"
    monitor = "trayrip_app_1_mpv.monitor"
    description = "application 'mpv'"

    def __init__(self, plays: int):
        self.tries, self.plays, self.connected, self.stopped = 0, plays, False, False

    def prepare(self, speculate=True):
        self.tries += 1
        if self.tries < self.plays:
            raise routing.NoMatchingApp(self.name, "nothing is playing")

    def connect(self):
        self.connected = True

    def stop(self):
        self.stopped = True


class _Inner:
    format = None
    started = False

    def start(self, sink):
        self.started = True

    def stop(self):
        pass

    def error(self):
        return None


class _Child:
    def terminate(self):
        pass


def test_armed_app_source_starts_on_a_look_without_any_event():
    route, inner = _ArmedRoute(plays=2), _Inner()
    source = routing.AppSource(route, lambda monitor: inner, wait=True)
    source._waiting(_Child(), iter([None, "Event 'new' on card #1\n", None]), sink=lambda block: True)
    assert route.tries == 2 and inner.started and route.connected
    assert source.error() is None


def test_armed_app_source_says_so_when_the_server_goes_away_while_waiting_and_stays_away(monkeypatch):
    monkeypatch.setattr(routing, "_answers", lambda: False)
    route, inner = _ArmedRoute(plays=99), _Inner()
    source = routing.AppSource(route, lambda monitor: inner, wait=True)
    source.patience = 0.3  # 15 s in real life
    source._waiting(_Child(), iter(["Event 'new' on sink-input #3\n"]), sink=lambda block: True)
    assert not inner.started
    assert "sound server went away while waiting for application 'mpv' to play, and did not come back within" \
        in source.error()


def test_armed_app_source_waits_on_when_the_server_comes_back(monkeypatch):
    answers = iter([False, False, True])
    monkeypatch.setattr(routing, "_answers", lambda: next(answers))
    route, inner = _ArmedRoute(plays=3), _Inner()
    source = routing.AppSource(route, lambda monitor: inner, wait=True)
    subscribed = []
    monkeypatch.setattr(source, "_subscribe", lambda: subscribed.append(_Child()) or subscribed[-1])
    monkeypatch.setattr(routing, "events_and_looks", lambda proc, looks, repeat_last: iter([None, None]))
    # the first child ends after one try (a restart): the server is looked for, then a new child is read
    source._waiting(_Child(), iter(["Event 'new' on sink-input #3\n"]), sink=lambda block: True)
    assert len(subscribed) == 1 and route.tries == 3 and inner.started and source.error() is None


# ---------------------------------------------------------------- issue 20, defect 8: a faster start


class MeetingServer(FakeServer):
    """Lets the streams' listing and the sink's load through only when both are asked at the same time."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        import threading

        self.meet = threading.Barrier(2, timeout=5)

    def __call__(self, argv, timeout=5.0):
        if argv[-2:] == ["list", "sink-inputs"] or (len(argv) > 2 and argv[2] == "module-null-sink"):
            self.meet.wait()  # BrokenBarrierError when asked one after the other
        return super().__call__(argv, timeout)


def test_a_start_lists_the_streams_while_the_private_sink_loads(monkeypatch, no_follow):
    server = MeetingServer(SINK_INPUTS)
    monkeypatch.setattr(routing, "_run", server)
    route = AppRoute("firefox")
    route.start()
    assert [c for c in server.calls if c[-2:] == ["list", "sinks"]] == [["pactl", "--format=json", "list", "sinks"]]
    assert "sink=speakers" in next(m for m in server.modules.values() if m.startswith("module-loopback"))
    route.stop()
    assert server.modules == {}


def test_no_match_after_a_speculative_load_leaves_nothing_and_an_armed_look_loads_nothing(monkeypatch, no_follow):
    server = MeetingServer(SINK_INPUTS)
    monkeypatch.setattr(routing, "_run", server)
    with pytest.raises(routing.NoMatchingApp):
        AppRoute("vlc").prepare()
    assert server.modules == {}
    server = FakeServer(SINK_INPUTS)
    monkeypatch.setattr(routing, "_run", server)
    with pytest.raises(routing.NoMatchingApp):
        AppRoute("vlc").prepare(speculate=False)
    assert not [c for c in server.calls if "load-module" in c]


def test_pipewire_finds_its_sink_by_its_ports_alone(monkeypatch, no_follow):
    server = FakeServer(SINK_INPUTS, pipewire=True)
    route = AppRoute("firefox")

    def ports_only(argv, timeout=5.0):
        if argv[0] == "pw-dump":
            server.calls.append(list(argv))
            ours = sink_ports_named_for(route)
            return json.dumps([port(1, 75, "output", "FL"), port(2, 75, "output", "FR"), *ours])
        return server(argv, timeout)

    monkeypatch.setattr(routing, "_run", ports_only)
    route.start()
    assert sorted(server.links) == [("1", "3"), ("2", "4")]
    assert [c for c in server.calls if c[0] == "pw-dump"] == [["pw-dump", "Port"]]  # no whole dump, no nodes
    route.stop()


class _LaunchingChild:
    """A recorder child that says what happened to it, in the fake server's call log."""

    format = None

    def __init__(self, calls):
        self.calls = calls

    def launch(self, sink):
        self.calls.append(["child", "launch"])

    def wait_running(self):
        self.calls.append(["child", "running"])

    def start(self, sink):  # pragma: no cover - a child that can launch is never started whole
        raise AssertionError("started whole")

    def stop(self):
        self.calls.append(["child", "stop"])

    def error(self):
        return None


def test_the_child_connects_as_soon_as_the_sink_is_there_and_its_first_audio_is_awaited_after_routing(
        monkeypatch, no_follow):
    import threading

    meet = threading.Barrier(2, timeout=5)  # the child's launch and the streams' listing, at the same time

    class Server(FakeServer):
        def __call__(self, argv, timeout=5.0):
            if argv[-2:] == ["list", "sink-inputs"] and meet is not None:
                meet.wait()
            return super().__call__(argv, timeout)

    class Child(_LaunchingChild):
        def launch(self, sink):
            meet.wait()
            super().launch(sink)

    server = Server(SINK_INPUTS)
    monkeypatch.setattr(routing, "_run", server)
    source = routing.AppSource(AppRoute("firefox"), lambda monitor: Child(server.calls))
    source.start(lambda block: None)
    order = [c[1] if c[0] == "child" else c[1] if c[1] != "load-module" else c[2] for c in server.calls]
    assert order.index("module-null-sink") < order.index("launch") < order.index("move-sink-input") \
        < order.index("running")
    source.stop()
    assert server.modules == {}

    server.calls.clear()
    meet = None
    source = routing.AppSource(AppRoute("vlc"), lambda monitor: _LaunchingChild(server.calls))
    with pytest.raises(routing.NoMatchingApp):
        source.start(lambda block: None)
    assert ["child", "stop"] in server.calls and server.modules == {}  # launched on speculation, ended again


def test_pipewire_asks_the_ports_while_listing_and_again_when_its_sink_had_none_yet(monkeypatch, no_follow):
    server = FakeServer(SINK_INPUTS, pipewire=True)
    route = AppRoute("firefox")
    dumps = []

    def ports(argv, timeout=5.0):
        if argv[0] == "pw-dump":
            server.calls.append(list(argv))
            ours = sink_ports_named_for(route)
            dumps.append(not dumps)  # the first dump comes before the new sink's ports exist
            return json.dumps([port(1, 75, "output", "FL"), port(2, 75, "output", "FR"), *([] if dumps[-1] else ours)])
        return server(argv, timeout)

    monkeypatch.setattr(routing, "_run", ports)
    route.prepare()
    assert [c for c in server.calls if c[0] == "pw-dump"] == [["pw-dump", "Port"]]  # asked during the start
    route._link(route.matched[0], tries=1)  # in one try: no 50 ms pause before asking again
    assert sorted(server.links) == [("1", "3"), ("2", "4")]
    assert [c for c in server.calls if c[0] == "pw-dump"] == [["pw-dump", "Port"]] * 2  # and no nodes
    route.stop()
