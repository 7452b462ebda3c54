"""Recording one application: finding its streams and routing them to us (controller thread).

Both servers are asked through ``pactl --format=json`` (pipewire-pulse
answers it too). What we change is named with :data:`SINK_PREFIX` and the
owner's process id, so a later trayrip can undo what a killed one left.

* **PipeWire**: a private null sink; the application's output ports are
  *linked* to it with ``pw-link`` besides their existing links. The streams
  are never moved (WirePlumber may undo moves, and a moved stream changes
  what the user hears).
* **PulseAudio**: a private null sink, a ``module-loopback`` from its monitor
  to the sink the streams were on, and ``move-sink-input``; undone on stop.
  A loopback made for the default output follows the default, as the
  streams would have (:mod:`.app_output`).
* **Muted** (``--muted``, both servers): the streams are *moved* to the
  private sink and nothing plays it back, so the user does not hear them.
  On PipeWire too a move, not removed links: WirePlumber links a stream
  that has none again at once. Where the streams go back to is kept in the
  private sink's properties (``trayrip.return_to``; a heard route keeps it
  in its loopback's), so a later trayrip moves them back there after a
  kill -9: the output they came from, or the default output *now* when
  they played on the default (as :meth:`AppRoute.stop` does).

The recording itself is the null sink's monitor. New streams of the
application (the next track) are followed: a ``pactl subscribe`` child is
read by the ``trayrip-app-follow`` thread, which owns the routing state
while the recording runs.
"""
from __future__ import annotations

import json
import logging
import os
import re
import select
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import CaptureError
from .app_output import DEFAULT_CHANGED, default_sink_index, loopback_moves
from .together import together

__all__ = [
    "SINK_PREFIX", "NoMatchingApp", "AppStream", "AppRoute", "parse_sink_inputs", "parse_pw_ports", "match_streams",
    "describe_playing", "playing_apps", "cleanup_leftovers", "leftover_modules", "parse_short_modules",
]

log = logging.getLogger(__name__)

SINK_PREFIX = "trayrip_app_"  # + owner pid; the marker of everything routing creates
_EVENT = re.compile(r"Event '(?:new|change)' on sink-input #(?P<index>\d+)")
DEFAULT_SINK = "@DEFAULT_SINK@"  # pactl's name for whatever output is the default
_RETURN_TO = re.compile(r"trayrip\.return_to=(?P<sink>[^\s'\"]+)")
_NO_SINK = 0xFFFFFFFF


class NoMatchingApp(CaptureError):
    """No playing application matches; ``playing`` says what is playing."""

    def __init__(self, name: str, playing: str):
        super().__init__(f"no playing application matches {name!r}; {playing}")
        self.playing = playing


@dataclass(frozen=True)
class AppStream:
    """One playback stream (a Pulse sink-input; on PipeWire also a node)."""

    index: int
    app: str
    binary: str
    pid: int | None
    sink: int | None
    node_id: int | None = None
    props: dict = field(default_factory=dict, compare=False, repr=False)

    def matches(self, name: str) -> bool:
        n = name.lower()
        return n in self.app.lower() or n in self.binary.lower()


# ---------------------------------------------------------------- pactl


def _run(argv: list[str], timeout: float = 5.0) -> str:
    exe = shutil.which(argv[0])
    if exe is None:
        raise CaptureError(f"{argv[0]} was not found: install it (pulseaudio-utils / pipewire-bin)")
    env = dict(os.environ, LC_ALL="C", LANG="C")
    try:
        done = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=timeout, env=env,
                              check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise CaptureError(f"{argv[0]} did not answer within {timeout:g} s") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise CaptureError(f"{' '.join(argv[:3])} failed" + (f": {detail[-1]}" if detail else ""))
    return done.stdout


def _pactl_json(*args: str) -> list:
    out = _run(["pactl", "--format=json", *args])
    try:
        return json.loads(out or "[]")
    except ValueError:
        raise CaptureError(f"pactl {' '.join(args)} gave output that is not JSON") from None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# A `pactl subscribe` child hears nothing until it has connected, which under
# load can be after the stream it waits for appeared: look again on a falling
# schedule, so a stream that came in that gap is still found.
FOLLOW_LOOKS = (0.25, 0.5, 1.0, 2.0)
WAIT_LOOKS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)  # the last repeats while armed


def events_and_looks(proc: subprocess.Popen, looks: tuple[float, ...], repeat_last: bool = False):
    """The child's output lines, with ``None`` at each time in ``looks`` (seconds apart) no line came.

    Ends when the child's output ends. Linux only (``select`` on a pipe).
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    pending = b""
    gaps = list(looks)
    due = time.monotonic() + gaps.pop(0) if gaps else None
    while True:
        timeout = None if due is None else max(0.0, due - time.monotonic())
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            yield None
            if gaps:
                due = time.monotonic() + gaps.pop(0)
            elif repeat_last and looks:
                due = time.monotonic() + looks[-1]
            else:
                due = None
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            yield line.decode("utf-8", "replace") + "\n"


def parse_sink_inputs(sink_inputs: list, clients: list = ()) -> list[AppStream]:
    """``pactl --format=json list sink-inputs`` (+ ``clients``) into streams.

    Leaves out trayrip's own streams, module streams (loopbacks) and streams
    connected to no sink (they are not heard).
    """
    client_props = {str(c.get("index")): c.get("properties") or {} for c in clients}
    out = []
    for si in sink_inputs:
        props = dict(client_props.get(str(si.get("client")), {}))
        props.update({k: v for k, v in (si.get("properties") or {}).items() if v not in ("", None)})
        sink = _int(si.get("sink"))
        if sink is None or sink == _NO_SINK or si.get("client") in (None, "", "n/a"):
            continue  # not heard, or a module's own stream (a loopback has no client)
        app = str(props.get("application.name") or props.get("media.name") or "")
        binary = str(props.get("application.process.binary") or "")
        if app.lower().startswith("trayrip") or str(props.get("node.name", "")).startswith("trayrip"):
            continue
        out.append(AppStream(
            index=int(si["index"]), app=app, binary=binary, pid=_int(props.get("application.process.id")),
            sink=sink, node_id=_int(props.get("object.id")), props=props,
        ))
    return out


def streams() -> list[AppStream]:
    """The playback streams now (one pactl call each for streams and clients)."""
    return parse_sink_inputs(_pactl_json("list", "sink-inputs"), _pactl_json("list", "clients"))


def match_streams(found: list[AppStream], name: str) -> list[AppStream]:
    """Streams whose application name or binary contains ``name`` (case-insensitive)."""
    return [s for s in found if s.matches(name)]


def playing_apps(found: list[AppStream]) -> list[tuple[str, str, int | None]]:
    """(application name, binary, process id) of each application, once."""
    seen: dict[tuple, None] = {}
    for s in found:
        seen.setdefault((s.app, s.binary, s.pid), None)
    return list(seen)


def describe_playing(found: list[AppStream]) -> str:
    apps = playing_apps(found)
    if not apps:
        return "no application is playing"
    return "playing now: " + ", ".join(f"{a} ({b or '?'}, pid {p or '?'})" for a, b, p in apps)


_SERVER_KIND: dict[tuple, bool] = {}  # (PULSE_SERVER, XDG_RUNTIME_DIR) -> PipeWire?


def is_pipewire() -> bool:
    """Whether the session's server is PipeWire (pipewire-pulse); asked once per server (a start saves a pactl)."""
    key = (os.environ.get("PULSE_SERVER"), os.environ.get("XDG_RUNTIME_DIR"))
    if key not in _SERVER_KIND:
        _SERVER_KIND[key] = "pipewire" in _run(["pactl", "info"]).lower()
    return _SERVER_KIND[key]


# ---------------------------------------------------------------- PipeWire ports


def parse_pw_ports(dump: list) -> dict[int, list[tuple[int, str, str]]]:
    """``pw-dump`` into {node id: [(port id, direction, channel)]}."""
    out: dict[int, list[tuple[int, str, str]]] = {}
    for obj in dump:
        if obj.get("type") != "PipeWire:Interface:Port":
            continue
        info = obj.get("info") or {}
        props = info.get("props") or {}
        node = _int(props.get("node.id"))
        if node is None:
            continue
        direction = str(info.get("direction") or props.get("port.direction") or "")
        channel = str(props.get("audio.channel") or props.get("port.name", "").rsplit("_", 1)[-1])
        if props.get("port.monitor") in (True, "true"):
            continue
        out.setdefault(node, []).append((int(obj["id"]), direction, channel))
    return out


def _node_of(dump: list, name: str) -> int | None:
    for obj in dump:
        if obj.get("type") == "PipeWire:Interface:Node":
            if ((obj.get("info") or {}).get("props") or {}).get("node.name") == name:
                return int(obj["id"])
    return None


def _node_of_ports(dump: list, description: str) -> int | None:
    """The node whose ports are aliased ``description:...`` (PipeWire names a null sink's ports so)."""
    for obj in dump:
        props = (obj.get("info") or {}).get("props") or {}
        if obj.get("type") == "PipeWire:Interface:Port" and str(props.get("port.alias", "")).startswith(
                description + ":"):
            return _int(props.get("node.id"))
    return None


def plan_links(app_ports: list[tuple[int, str, str]], sink_ports: list[tuple[int, str, str]]) -> list[tuple[int, int]]:
    """Pairs (output port, input port): same channel, or a mono output to every input."""
    outs = [p for p in app_ports if p[1] == "output"]
    ins = [p for p in sink_ports if p[1] == "input"]
    pairs = []
    for pid, _, ch in outs:
        same = [i for i, _, ich in ins if ich == ch]
        if same:
            pairs += [(pid, i) for i in same]
        elif ch in ("MONO", "mono") or len(outs) == 1:
            pairs += [(pid, i) for i, _, _ in ins]
    return pairs


# ---------------------------------------------------------------- leftovers


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner(sink_name: str) -> int | None:
    if not sink_name.startswith(SINK_PREFIX):
        return None
    return _int(sink_name[len(SINK_PREFIX):].split("_", 1)[0])


def _arg(argument: str, key: str) -> str | None:
    for word in (argument or "").split():
        k, sep, v = word.partition("=")
        if sep and k == key:
            return v.strip("'\"")
    return None


def _return_to(sink: str) -> str:
    """The property (in a module's argument) naming where the streams go back to after a crash."""
    return f" trayrip.return_to={sink}" if re.fullmatch(r"@?[\w.:-]+@?", sink) else ""


def leftover_modules(modules: list, alive=_pid_alive) -> list[tuple[int, str, str | None]]:
    """Our modules whose owner is gone: (module index, sink name, where its streams go back to, or None)."""
    out = []
    for m in modules:
        arg = m.get("argument") or ""
        name = m.get("name")
        sink = _arg(arg, "sink_name") if name == "module-null-sink" else None
        back = _RETURN_TO.search(arg) if name in ("module-null-sink", "module-loopback") else None
        if name == "module-loopback":
            src = _arg(arg, "source") or ""
            sink = src[: -len(".monitor")] if src.endswith(".monitor") else None
        owner = _owner(sink or "")
        if owner is None or alive(owner):
            continue
        target = back["sink"] if back else _arg(arg, "sink") if name == "module-loopback" else None
        out.append((int(m["index"]), sink or "", target))
    return out


def parse_short_modules(text: str) -> list[dict]:
    """``pactl list short modules`` (its JSON form lacks the module index)."""
    out = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0].strip().isdigit():
            out.append({"index": int(fields[0]), "name": fields[1].strip(),
                        "argument": fields[2].strip() if len(fields) > 2 else ""})
    return out


def cleanup_leftovers() -> int:
    """Undo what a killed trayrip left in the sound server; returns how many modules were removed.

    Streams on a leftover sink go back to the sink its loopback played to
    (or the default sink) before the sink is removed. Quiet when there is
    no server.
    """
    try:
        listed = parse_short_modules(_run(["pactl", "list", "short", "modules"]))
        left = leftover_modules(listed)
        if not left:
            return 0
        sinks = {str(s.get("name")): int(s["index"]) for s in _pactl_json("list", "sinks")}
        back_to = {sink: target for _, sink, target in left if target}
        ours = {sinks[name]: name for _, name, _ in left if name in sinks}
        for si in _pactl_json("list", "sink-inputs"):
            owner_sink = ours.get(_int(si.get("sink")))
            if owner_sink is not None:
                target = back_to.get(owner_sink) or DEFAULT_SINK
                _run(["pactl", "move-sink-input", str(si["index"]), target])
        kinds = {m["index"]: m["name"] for m in listed}
        for index, _, _ in sorted(left, key=lambda m: kinds.get(m[0]) == "module-null-sink"):  # loopbacks first
            _run(["pactl", "unload-module", str(index)])
        log.warning("removed %d routing modules left by a trayrip that was killed", len(left))
        return len(left)
    except CaptureError as exc:
        log.info("no leftover routing checked: %s", exc)
        return 0
    except (KeyError, ValueError, TypeError) as exc:  # an answer we do not understand must not stop a start
        log.warning("could not check for leftover routing: %s", exc)
        return 0


def _cleanup_once() -> None:
    """:func:`cleanup_leftovers` before this process's first route on a server (the tray and the CLI also
    clean up as they start): a start saves its pactl calls."""
    key = ("cleaned", os.environ.get("PULSE_SERVER"), os.environ.get("XDG_RUNTIME_DIR"))
    if key not in _SERVER_KIND:
        cleanup_leftovers()
        _SERVER_KIND[key] = True


# ---------------------------------------------------------------- the route


class AppRoute:
    """Routes the streams of applications matching ``name`` into a private null sink.

    ``start`` (controller thread) raises CaptureError listing what plays when
    nothing matches; ``monitor`` is then the Pulse source to record. ``stop``
    undoes everything (idempotent).
    """

    def __init__(self, name: str, *, pipewire: bool | None = None, rate: int = 48000, channels: int = 2,
                 muted: bool = False):
        self.name = name
        self.muted = muted  # recorded, not heard: the streams are moved to our sink and not played back
        self.pipewire = pipewire
        self.rate, self.channels = rate, channels
        self.sink = f"{SINK_PREFIX}{os.getpid()}_{id(self) & 0xFFFF:x}"
        self._description = f"trayrip-{os.getpid()}-{id(self) & 0xFFFF:x}"  # unique: finds our ports (PipeWire)
        self.monitor = self.sink + ".monitor"
        self.description = ""
        self._modules: list[int] = []  # loaded by us, unloaded in reverse
        self._moved: dict[int, int | str] = {}  # sink-input -> where it goes back at stop (PulseAudio)
        self._linked: set[int] = set()  # node ids linked (PipeWire)
        self._sink_node: int | None = None  # our sink's node id, once seen (PipeWire)
        self._ports_dump: list | None = None  # the ports asked for while the start was listing (PipeWire)
        self._start_sinks: tuple[list, int | None] | None = None  # (sinks, default) listed by prepare (PulseAudio)
        self._loopbacks: dict[int | str, int] = {}  # sink index, or "default" (follows it): loopback module
        self._lock = threading.Lock()
        self._follow: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self.matched: list[AppStream] = []

    # -- controller thread -------------------------------------------------
    def start(self) -> None:
        self.prepare()
        self.connect()

    def prepare(self, speculate: bool = True, on_sink: Callable[[], None] | None = None) -> None:
        """Find the application's streams and make the private sink (nothing is routed yet).

        Raises NoMatchingApp listing what plays. A recorder started on the sink
        between :meth:`prepare` and :meth:`connect` is running before the
        streams arrive (PulseAudio otherwise runs a new null sink with the
        long latency of the moved streams: its monitor's first audio came
        ~0.5 s late). With ``speculate`` the sink is loaded while the streams
        are listed (a start saves the round trips; with no match it is
        unloaded at once), and ``on_sink()`` is called as soon as it is
        there; a muted route names the streams' sink in its own, so it lists
        first (and calls nothing).
        """
        _cleanup_once()
        if self.pipewire is None:
            self.pipewire = is_pipewire()
        if self.muted or not speculate:
            self.matched, found = self._find(streams())
            back = ""
            if self.muted:  # where the streams go back to, should this process die before stop()
                sinks = _pactl_json("list", "sinks")
                self._start_sinks = (sinks, default_sink_index(_pactl_json("info"), sinks))
                back = _return_to(self._back_to(self.matched[0].sink, *self._start_sinks))
            self._load_sink(back)
            return
        inputs, clients, sinks, info, loaded = together(
            lambda: _pactl_json("list", "sink-inputs"), lambda: _pactl_json("list", "clients"),
            lambda: [] if self.pipewire else _pactl_json("list", "sinks"),  # where a loopback plays (connect)
            lambda: {} if self.pipewire else _pactl_json("info"),  # the default output (app_output.py)
            lambda: (self._load_sink(""), on_sink() if on_sink is not None else None, self._early_ports()))
        try:
            if not self.pipewire:
                self._start_sinks = (sinks.get(), default_sink_index(info.get(), sinks.get()))
            self.matched, found = self._find(parse_sink_inputs(inputs.get(), clients.get()))
            loaded.get()
        except BaseException:
            self.stop()  # the sink loaded meanwhile goes again
            raise

    def _find(self, found: list[AppStream]) -> tuple[list[AppStream], list[AppStream]]:
        """(the matching streams, all) -- NoMatchingApp when none matches; sets the description."""
        matched = match_streams(found, self.name)
        if not matched:
            raise NoMatchingApp(self.name, describe_playing(found))
        apps = playing_apps(matched)
        self.description = "application " + ", ".join(f"{a} (pid {p or '?'})" for a, _, p in apps)
        if self.muted:
            self.description += ", muted"
        return matched, found

    def _load_sink(self, back: str) -> None:
        """Load the private null sink (any thread: it may run beside the listing)."""
        try:
            # PulseAudio: a new null sink renders 2 s blocks until a client asks for less, so a recorder's first
            # audio came 0.5-2 s late; without rewinds it runs at its clients' latency at once (measured: 50 ms).
            module = int(_run([
                "pactl", "load-module", "module-null-sink", f"sink_name={self.sink}", f"rate={self.rate}",
                f"channels={self.channels}", *([] if self.pipewire else ["norewinds=1"]),
                f"sink_properties='device.description={self._description} priority.session=0{back}'",
            ]).strip())
        except BaseException:
            self.stop()
            raise
        with self._lock:
            self._modules.append(module)

    def connect(self) -> None:
        """Route the streams found by :meth:`prepare` into the private sink, and follow new ones."""
        try:
            with self._lock:
                for s in self.matched:
                    self._route(s)
                self._start_sinks = None  # what the start saw; later streams ask the server then
            self._start_following()
        except BaseException:
            self.stop()
            raise
        log.info("recording %s through %s", self.description, self.sink)

    def stop(self) -> None:
        proc, self._follow = self._follow, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                proc.kill()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)
        with self._lock:
            for index, original in list(self._moved.items()):
                try:
                    _run(["pactl", "move-sink-input", str(index), str(original)])
                except CaptureError as exc:  # the stream ended meanwhile
                    log.debug("moving stream %d back: %s", index, exc)
            self._moved.clear()
            for module in reversed(self._modules):
                try:
                    _run(["pactl", "unload-module", str(module)])
                except CaptureError as exc:
                    log.warning("could not remove routing module %d: %s", module, exc)
            self._modules.clear()
            self._loopbacks.clear()
            self._linked.clear()

    # -- routing (the controller thread at start, then the follow thread) --
    def _route(self, s: AppStream) -> None:
        if self.pipewire and not self.muted:
            self._link(s)
        else:
            self._move(s)

    @staticmethod
    def _back_to(sink: int | None, sinks: list, default: int | None) -> str:
        """Where a stream now on ``sink`` goes back to: the default output if it played there (it follows the
        default, as it would have without trayrip: headphones plugged in meanwhile), else that output."""
        if sink is not None and sink == default:
            return DEFAULT_SINK
        return next((str(k["name"]) for k in sinks if _int(k.get("index")) == sink), "")

    def _move(self, s: AppStream) -> None:
        if s.index in self._moved or s.sink is None:
            return
        # the start listed the sinks and the default beside the streams; a later stream asks again
        sinks, default = self._start_sinks or (None, None)
        if sinks is None or s.sink not in {_int(k.get("index")) for k in sinks}:
            sinks = _pactl_json("list", "sinks")
            default = default_sink_index(_pactl_json("info"), sinks)
        names = {int(k["index"]): str(k["name"]) for k in sinks}
        if s.sink not in names:
            return
        # A stream on the default output is heard on whatever output is the default (app_output.py).
        key = "default" if s.sink == default else s.sink
        back: int | str = DEFAULT_SINK if key == "default" else s.sink
        if not self.muted and key not in self._loopbacks:
            module = int(_run([
                "pactl", "load-module", "module-loopback", f"source={self.monitor}", f"sink={names[s.sink]}",
                "latency_msec=20", "source_dont_move=true",
                f"sink_input_properties='media.name={self.sink} application.name=trayrip-loopback"
                f"{_return_to(self._back_to(s.sink, sinks, default))}'",
            ]).strip())
            self._modules.append(module)
            self._loopbacks[key] = module
        _run(["pactl", "move-sink-input", str(s.index), self.sink])
        self._moved[s.index] = back
        if self.pipewire:
            self._confirm_move(s.index)

    def _confirm_move(self, index: int, timeout: float = 2.0) -> None:
        """Wait until the stream is on our sink, moving it again meanwhile.

        WirePlumber 0.5 (PipeWire 1.4) may put a stream moved to a sink it has
        only just seen straight back on the default: the muted recording then
        heard nothing. A move a moment later holds.
        """
        deadline = time.monotonic() + timeout
        while True:
            sinks = {str(k.get("name")): int(k["index"]) for k in _pactl_json("list", "sinks")}
            on = {int(si["index"]): _int(si.get("sink")) for si in _pactl_json("list", "sink-inputs")}
            if index not in on or on[index] == sinks.get(self.sink):
                return  # there, or the stream ended meanwhile
            if time.monotonic() > deadline:
                raise CaptureError(f"the sound server keeps stream {index} on its sink; cannot record it muted")
            threading.Event().wait(0.1)
            log.info("moving stream %d to %s again (the server put it back)", index, self.sink)
            _run(["pactl", "move-sink-input", str(index), self.sink])

    def _link(self, s: AppStream, tries: int = 40) -> None:
        """Link the stream's output ports to our sink; a new node's ports may take a moment to appear."""
        for _ in range(tries):
            if s.node_id is None or s.node_id in self._linked:
                return
            self._link_once(s)
            if s.node_id in self._linked:
                return
            threading.Event().wait(0.05)
        log.warning("stream %d of %s has no output ports to link", s.index, s.app)

    def _early_ports(self) -> None:
        """PipeWire: the ports as soon as our sink is loaded (beside the streams' listing); the first link
        tries them before asking again (the sink's ports may not be there yet)."""
        if self.pipewire and not self.muted:
            self._ports_dump = json.loads(_run(["pw-dump", "Port"], timeout=10) or "[]")

    def _link_once(self, s: AppStream) -> None:
        early, self._ports_dump = self._ports_dump, None
        if early is not None:
            self._link_with(s, early, ask_nodes=False)  # not there yet: ask again below, nodes too
            if s.node_id in self._linked:
                return
        # Ports only (a whole dump took 2-3 times as long)
        self._link_with(s, json.loads(_run(["pw-dump", "Port"], timeout=10) or "[]"))

    def _link_with(self, s: AppStream, dump: list, ask_nodes: bool = True) -> None:
        """Link ``s`` to our sink as the ports in ``dump`` say; our sink's node by its ports' alias (its
        description), else by its name in the nodes."""
        ports = parse_pw_ports(dump)
        ours = self._sink_node = (self._sink_node or _node_of_ports(dump, self._description) or (
            _node_of(dump + json.loads(_run(["pw-dump", "Node"], timeout=10) or "[]"), self.sink) if ask_nodes
            else None))
        pairs = plan_links(ports.get(s.node_id, []), ports.get(ours, []) if ours is not None else [])
        if not pairs:
            return
        for done in together(*(lambda o=o, i=i: _run(["pw-link", str(o), str(i)]) for o, i in pairs)):
            if done.error is not None and "File exists" not in str(done.error):
                done.get()
        self._linked.add(s.node_id)

    def _start_following(self) -> None:
        exe = shutil.which("pactl")
        if exe is None:
            return
        self._follow = _subscribe(exe)
        lines = events_and_looks(self._follow, FOLLOW_LOOKS)
        self._thread = threading.Thread(target=self._following, args=(lines,), name="trayrip-app-follow",
                                        daemon=True)
        self._thread.start()

    def _following(self, lines) -> None:
        """Follow thread: a new sink-input of the application gets routed too.

        ``lines``: the subscribe child's lines, ``None`` for "look anyway"
        (:func:`events_and_looks`). On PipeWire a new stream may be listed
        before it is linked to a sink (it is not heard yet, so not listed
        here); its 'change' event follows. Streams already decided on cost no
        pactl call.
        """
        decided: set[int] = set()
        for line in lines:
            if line is not None and DEFAULT_CHANGED.search(line) and "default" in self._loopbacks:
                self._loopback_to_default()
                continue
            if line is not None:
                m = _EVENT.search(line)
                if m is None:
                    continue
                index = int(m["index"])
                if index in decided or index in self._moved:
                    continue
            try:
                with self._lock:
                    if self._follow is None:
                        return
                    for s in streams():
                        if not s.matches(self.name):
                            decided.add(s.index)
                        elif s.index not in self._moved and s.node_id not in self._linked:
                            log.info("following a new stream of %s (%d)", s.app, s.index)
                            self._route(s)
                            if s.index in self._moved or s.node_id in self._linked:
                                decided.add(s.index)
            except CaptureError as exc:
                log.warning("could not follow a new stream: %s", exc)

    def _loopback_to_default(self) -> None:
        """Follow thread: the loopback made for the default output plays on the default now."""
        try:
            with self._lock:
                module = self._loopbacks.get("default")
                if self._follow is None or module is None:
                    return
                sinks = _pactl_json("list", "sinks")
                default = default_sink_index(_pactl_json("info"), sinks)
                for index in loopback_moves(_pactl_json("list", "sink-inputs"), {module}, default):
                    _run(["pactl", "move-sink-input", str(index), DEFAULT_SINK])
                    log.info("the default output changed: %s is heard on %s now", self.description,
                             next((k.get("name") for k in sinks if _int(k.get("index")) == default), "?"))
        except CaptureError as exc:
            log.warning("could not follow the default output with the loopback: %s", exc)


def _subscribe(exe: str) -> subprocess.Popen:
    """A ``pactl subscribe`` child whose lines are the server's events (C locale: the event words are parsed)."""
    from .pipewire import spawn_child  # Linux-only (fcntl); this module is imported on every OS

    return spawn_child(  # never outlives us, even when no event comes to break its pipe
        [exe, "subscribe"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env=dict(os.environ, LC_ALL="C", LANG="C"), start_new_session=True,
    )


def _answers() -> bool:
    """Whether the sound server answers now."""
    try:
        _run(["pactl", "info"])
    except CaptureError:
        return False
    return True


class AppSource:
    """A CaptureSource recording one application: the route plus a source on its monitor.

    ``make_source(monitor)`` builds the inner source (not started) for the
    private sink's monitor. With ``wait`` (Arm: wait for sound) an application
    that is not playing yet is waited for -- a ``pactl subscribe`` child read
    by ``trayrip-app-wait``; each new or changed stream is a new try -- instead
    of failing; nothing is delivered until it plays.
    """

    def __init__(self, route: AppRoute, make_source, wait: bool = False):
        from .follow import LOST_PATIENCE

        self.route = route
        self.patience = LOST_PATIENCE  # seconds a server that went away while waiting is waited for
        self._inner = make_source(route.monitor)
        self.format = self._inner.format
        self.description = f"application {route.name!r}"
        self.can_wait = False
        self.wait = wait
        self._lock = threading.Lock()  # the waiting thread's start against stop()
        self._stopped = False
        self._stop_wait = threading.Event()
        self._error: str | None = None
        self._waiter: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def start(self, sink) -> None:
        launch = None if self.wait else getattr(self._inner, "launch", None)
        launched: list[bool] = []

        def on_sink() -> None:  # the recorder child connects while the streams are still being listed
            launch(sink)
            launched.append(True)

        try:
            # armed: no sink for an application that may not play
            self.route.prepare(speculate=not self.wait, on_sink=on_sink if launch is not None else None)
        except BaseException as exc:
            if launched:
                self._inner.stop()
            if not isinstance(exc, NoMatchingApp) or not self.wait:
                raise
            self._wait_for_app(sink)
            return
        self._start_inner(sink, launched=bool(launched))

    def _start_inner(self, sink, launched: bool = False) -> None:
        """The recorder on the private sink first, then the streams into it (see AppRoute.prepare).

        A recorder child is routed to while it connects and gets its first audio (~50 ms on a new
        PulseAudio null sink): the wait overlaps the routing instead of coming before it.
        ``launched``: the child was started already (as soon as the sink was there).
        """
        self.description = self.route.description
        launch = getattr(self._inner, "launch", None)
        try:
            if not launched:
                (launch or self._inner.start)(sink)
        except BaseException:
            self.route.stop()
            raise
        try:
            self.route.connect()
            if launch is not None:
                self._inner.wait_running()
        except BaseException:
            self._inner.stop()
            self.route.stop()  # idempotent: connect undid it already when it failed itself
            raise

    @staticmethod
    def _subscribe() -> subprocess.Popen:
        exe = shutil.which("pactl")
        if exe is None:
            raise CaptureError("pactl was not found: install it (pulseaudio-utils / pipewire-bin)")
        return _subscribe(exe)

    def _wait_for_app(self, sink) -> None:
        self._waiter = self._subscribe()
        lines = events_and_looks(self._waiter, WAIT_LOOKS, repeat_last=True)
        self._thread = threading.Thread(target=self._waiting, args=(self._waiter, lines, sink),
                                        name="trayrip-app-wait", daemon=True)
        self._thread.start()
        log.info("waiting for %s to play", self.description)

    def _waiting(self, proc: subprocess.Popen, lines, sink) -> None:
        """App-wait thread: wait (:meth:`_wait_with`); when the server goes away meanwhile (a restart), wait
        for it to answer again (up to ``patience`` s, looking every 0.25 s) and go on waiting."""
        while not self._wait_with(proc, lines, sink):
            gone = time.monotonic()
            log.info("the sound server went away while waiting for %s to play; waiting up to %.0f s for it",
                     self.description, self.patience)
            while True:
                if self._stop_wait.wait(0.25):
                    return
                if _answers():
                    break
                if time.monotonic() - gone > self.patience:
                    with self._lock:
                        if not self._stopped:
                            self._error = (f"the sound server went away while waiting for {self.description}"
                                           f" to play, and did not come back within {self.patience:.0f} s")
                    return
            with self._lock:
                if self._stopped:
                    return
                try:
                    proc = self._waiter = self._subscribe()
                    lines = events_and_looks(proc, WAIT_LOOKS, repeat_last=True)
                except (CaptureError, OSError) as exc:
                    self._error = str(exc)
                    return
            log.info("the sound server is back after %.1f s: still waiting for %s to play",
                     time.monotonic() - gone, self.description)

    def _wait_with(self, proc: subprocess.Popen, lines, sink) -> bool:
        """Each of the ``pactl subscribe`` child's ``lines`` about a stream (and each look, ``None``: see
        :data:`WAIT_LOOKS`) is a try to route the application; the first that works starts the
        recording. False when the child ended (the server went away), else True."""
        for line in lines:
            if line is not None and "sink-input" not in line:
                continue
            with self._lock:
                if self._stopped:
                    return True
                try:
                    self.route.prepare(speculate=False)  # mostly not there yet: no sink loaded for nothing
                except NoMatchingApp:
                    continue
                except CaptureError as exc:
                    if not _answers():
                        return False  # the server went away under the question
                    self._error = str(exc)
                    return True
                try:
                    self._start_inner(sink)
                except CaptureError as exc:
                    self._error = str(exc)
                    return True
            log.info("%s plays: recording it", self.description)
            proc.terminate()
            return True
        with self._lock:
            return self._stopped  # else the subscribe child ended: the server went away

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._stop_wait.set()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and waiter.poll() is None:
            waiter.terminate()
            try:
                waiter.wait(1.0)
            except subprocess.TimeoutExpired:
                waiter.kill()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)
        try:
            self._inner.stop()
        finally:
            self.route.stop()

    def error(self) -> str | None:
        return self._error or self._inner.error()

    @property
    def block_interval(self) -> float | None:
        """The inner source's pace (a pipe read in batches), for the recorder to read or quicken."""
        return getattr(self._inner, "block_interval", None)

    @block_interval.setter
    def block_interval(self, seconds: float) -> None:
        if hasattr(self._inner, "block_interval"):
            self._inner.block_interval = seconds


def unsupported_message(platform: str) -> str:
    """Why ``--app`` does not work on this OS."""
    if platform.startswith("win"):
        return ("recording one application is not supported on Windows yet (it needs the process-loopback "
                "API of Windows 10 2004+, and no maintained Python package offers it cleanly); "
                "record all system audio instead")
    return "recording one application needs PulseAudio or PipeWire (Linux); on macOS, route the app with a " \
           "loopback tool such as BlackHole or Loopback and record that device"
