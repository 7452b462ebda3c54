"""A real (headless) desktop and sound server for system tests.

`Harness.start()` brings up, each as its own process started and stopped by
PID, all inside one private temporary directory that is used as
XDG_RUNTIME_DIR (mode 0700):

* a private D-Bus session bus (no service activation, so nothing outside the
  harness gets spawned and outlives it),
* the sound server, one of two flavours (``Harness(server=...)``), never both:

  - ``"pulseaudio"`` (default): PulseAudio (headless, as whatever user runs
    the tests, root included) with a null sink ``trayrip_test_sink`` (48 kHz
    stereo, the default sink) and a decoy default *source* ``trayrip_decoy``
    that plays a 440 Hz sine: code that records "the default input" instead
    of the sink monitor hears 440 Hz;
  - ``"pipewire"``: ``pipewire``, ``wireplumber`` (no ALSA/V4L2/camera
    monitors, so real hardware is never touched) and ``pipewire-pulse`` on
    the private bus, with the same sink and decoy. pipewire-pulse has no
    ``module-sine-source``, so the decoy is a null sink with
    ``media.class=Audio/Source/Virtual`` fed by an unlinked ``pw-cat``
    playing 440 Hz (from a small generator on its stdin), joined with
    ``pw-link``,
* Xvfb with the RECORD extension (pynput needs it),
* ``trayer`` as the system-tray host (XEmbed),
* ``dunst`` as the notification daemon on the private bus; a dunst rule runs a
  small script that appends every notification as one JSON line to a file,
  so tests can read what was notified.

Programs under test reach all of it through ``harness.env`` (DISPLAY,
PULSE_SERVER, DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR, ...). Any part that
does not come up raises `HarnessError` naming the part and the tail of its
log. Used by the session fixture ``harness`` in ``tests/conftest.py``; it can
also be used by hand::

    with Harness() as h:
        h.play("tone.wav")
        print(h.pactl("list", "short", "sinks"))

Facts that the tests rely on:

* PortAudio (PyAudio) reaches the server through ALSA's pulse plugin
  (libasound2-plugins): devices ``pulse`` and ``default``. With
  ``PULSE_SOURCE=trayrip_test_sink.monitor`` in the environment, opening
  ``pulse`` records the null sink's monitor.
* A new recording stream on the null sink's monitor gets no data for roughly
  the first second while nothing plays; once something plays, data flows.

All subprocesses get argument lists; nothing uses a shell.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from trayrip.capture.pipewire import raw_pcm_args

# Variables that would send config/data/music somewhere other than HOME.
XDG_VARS = (
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_MUSIC_DIR",
    "XDG_DESKTOP_DIR",
    "XDG_DOCUMENTS_DIR",
    "XDG_DOWNLOAD_DIR",
    "XDG_PICTURES_DIR",
    "XDG_VIDEOS_DIR",
)

SINK = "trayrip_test_sink"
MONITOR = SINK + ".monitor"
DECOY_SOURCE = "trayrip_decoy"
DECOY_FREQUENCY = 440
RATE = 48000
CHANNELS = 2
SCREEN = (1280, 800)

# One window in `xwininfo -tree` output:
#      0x800007 "test": ("res" "class")  32x30+0+0  +1221+1
_TREE_LINE = re.compile(
    r'^(?P<indent>\s*)(?P<id>0x[0-9a-fA-F]+) (?:"(?P<name>.*)"|\(has no name\)):.*?'
    r'\s(?P<w>\d+)x(?P<h>\d+)[+-]-?\d+[+-]-?\d+\s+\+(?P<ax>-?\d+)\+(?P<ay>-?\d+)\s*$'
)

# Tools each part needs, with the Debian package that has it (for the error).
_TOOLS = {
    "dbus-daemon": "dbus-daemon",
    "dbus-send": "dbus-bin",
    "pactl": "pulseaudio-utils",
    "paplay": "pulseaudio-utils",
    "parec": "pulseaudio-utils",
    "Xvfb": "xvfb",
    "xwininfo": "x11-utils",
    "trayer": "trayer",
    "dunst": "dunst",
    "xdotool": "xdotool",
}
_SERVER_TOOLS = {
    "pulseaudio": {"pulseaudio": "pulseaudio"},
    "pipewire": {"pipewire": "pipewire", "wireplumber": "wireplumber",
                 "pipewire-pulse": "pipewire-pulse", "pw-cat": "pipewire-bin",
                 "pw-link": "pipewire-bin"},
}
SERVERS = tuple(_SERVER_TOOLS)
# The PipeWire flavour's parts, in start order (stopped newest first).
_PW_PARTS = ("pipewire", "wireplumber", "pipewire-pulse", "decoy-feeder", "decoy-tone")
_DECOY_NODE = "decoy-tone"

# Environment variables from the outer session that would point programs
# under test at the real desktop or change how they pick devices.
_SCRUB = (
    "DBUS_SESSION_BUS_ADDRESS",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "XAUTHORITY",
    "PULSE_SERVER",
    "PULSE_SINK",
    "PULSE_SOURCE",
    "PULSE_RUNTIME_PATH",
    "PULSE_STATE_PATH",
    "PULSE_CLIENTCONFIG",
    "PULSE_COOKIE",
    "PIPEWIRE_REMOTE",
    "PIPEWIRE_RUNTIME_DIR",
    "SESSION_MANAGER",
    "PYSTRAY_BACKEND",
    "DBUS_SYSTEM_BUS_ADDRESS",
)


class HarnessError(RuntimeError):
    """A part of the harness did not start or did not answer."""


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(log is empty)"


# `setpriv --pdeathsig TERM` (util-linux) makes a part get SIGTERM when the
# test process dies, so an aborted pytest (CI timeout, SIGKILL) does not leave
# Xvfb, PulseAudio and friends running. It execs the program, so the PID stays
# the program's. (Not a preexec_fn: forking Python with callbacks is unsafe
# while other threads run, and tests restart PulseAudio mid-recording.)
_SETPRIV = shutil.which("setpriv")


def _with_pdeathsig(argv: list[str]) -> list[str]:
    # The death signal fires when the *thread* that forked exits, so only
    # parts started from the main thread get it (a test may restart
    # PulseAudio from a timer thread).
    if _SETPRIV and threading.current_thread() is threading.main_thread():
        return [_SETPRIV, "--pdeathsig", "TERM", "--", *argv]
    return list(argv)


def wait_until(
    predicate: Callable[[], object],
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> object:
    """Poll `predicate` until it returns something truthy; return that.

    Raises `TimeoutError` naming `what` after `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def write_user_config(home: Path, text: str) -> Path:
    """Write trayrip's config file under ``home`` (a test's HOME) and return its path."""
    config = Path(home) / ".config" / "trayrip" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    return config


@dataclass
class _Part:
    """One started process."""

    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 3.0, sig: int = signal.SIGTERM) -> int | None:
        """Signal by PID, wait, SIGKILL after `timeout`; return the exit code."""
        if self.popen.poll() is None:
            try:
                self.popen.send_signal(sig)
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                try:
                    self.popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            except ProcessLookupError:
                pass
        return self.popen.poll()


@dataclass(frozen=True)
class Window:
    """An X window's id and absolute geometry."""

    id: int
    name: str
    x: int
    y: int
    width: int
    height: int

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom), as `PIL.Image.crop` wants it."""
        return (self.x, self.y, self.x + self.width, self.y + self.height)


class ParecRecording:
    """Raw s16le capture with ``parec`` into memory (see `Harness.record`).

    The null sink's monitor delivers nothing for about a second after the
    stream opens while nothing plays, so `frames_received` can lag wall time.
    """

    def __init__(self, harness: "Harness", device: str, rate: int, channels: int, pinned: bool = False):
        self.device = device
        self.rate = rate
        self.channels = channels
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._nbytes = 0
        log_file = open(harness.log_dir / "parec.log", "ab")
        self._popen = subprocess.Popen(
            [
                "parec",
                f"--device={device}",
                "--format=s16le",
                f"--rate={rate}",
                f"--channels={channels}",
                "--latency-msec=20",
                "--client-name=trayrip-harness",
                *(["--property=node.dont-reconnect=true"] if pinned else []),
            ],
            env=harness.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file,
        )
        log_file.close()
        self._reader = threading.Thread(target=self._read, name="parec-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._popen.stdout is not None
        fd = self._popen.stdout.fileno()
        while True:
            data = os.read(fd, 65536)
            if not data:
                return
            with self._lock:
                self._chunks.append(data)
                self._nbytes += len(data)

    @property
    def frames_received(self) -> int:
        with self._lock:
            return self._nbytes // (2 * self.channels)

    def wait_frames(self, frames: int, timeout: float = 10.0) -> None:
        """Block until at least `frames` frames arrived (TimeoutError otherwise)."""
        wait_until(
            lambda: self.frames_received >= frames or self._popen.poll() is not None,
            timeout,
            f"{frames} frames from parec {self.device}",
        )
        if self.frames_received < frames:
            raise HarnessError(f"parec {self.device} exited early with {self._popen.returncode}")

    def stop(self) -> np.ndarray:
        """End the capture; return float32 samples in [-1, 1), shape (frames, channels)."""
        if self._popen.poll() is None:
            self._popen.terminate()
            try:
                self._popen.wait(3)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait(3)
        self._reader.join(3)
        with self._lock:
            raw = b"".join(self._chunks)
        usable = len(raw) - len(raw) % (2 * self.channels)
        data = np.frombuffer(raw[:usable], dtype="<i2").reshape(-1, self.channels)
        return data.astype(np.float32) / 32768.0

    def __enter__(self) -> "ParecRecording":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _runtime_base() -> str | None:
    """Where to make the private dir: TMPDIR unless its path is too long.

    Unix socket paths are limited to 107 bytes.
    """
    base = tempfile.gettempdir()
    return base if len(base) < 60 else "/tmp"


class Harness:
    """The private desktop + sound server. `start()` it, `stop()` it."""

    def __init__(self, base_dir: str | os.PathLike | None = None, keep: bool | None = None,
                 server: str = "pulseaudio"):
        if server not in SERVERS:
            raise ValueError(f"server must be one of {SERVERS}, not {server!r}")
        self.server = server
        self.dir = Path(tempfile.mkdtemp(prefix="trayrip-h-", dir=base_dir or _runtime_base()))
        os.chmod(self.dir, stat.S_IRWXU)
        self.runtime_dir = self.dir  # XDG_RUNTIME_DIR
        self.log_dir = self.dir / "logs"
        self.log_dir.mkdir()
        self.keep = bool(os.environ.get("TRAYRIP_KEEP_HARNESS")) if keep is None else keep

        self.sink = SINK
        self.monitor = MONITOR
        self.decoy_source = DECOY_SOURCE
        self.decoy_frequency = DECOY_FREQUENCY
        self.rate = RATE
        self.channels = CHANNELS
        self.screen_size = SCREEN

        self.bus_address = ""
        self.display = ""
        self.pulse_server = f"unix:{self.dir / 'pulse' / 'native'}"
        self.notification_log = self.dir / "notifications.jsonl"
        self.startup_seconds: dict[str, float] = {}
        self.env: dict[str, str] = {}
        self._parts: dict[str, _Part] = {}
        self._tray_window: int | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "Harness":
        t0 = time.monotonic()
        try:
            self._check_tools()
            self.env = self._base_env()
            # The three servers start in parallel; then the clients of X/D-Bus.
            dbus = self._spawn_dbus()
            xvfb, display_r = self._spawn_xvfb()
            if self.server == "pulseaudio":
                self._write_pulse_files()
                self._spawn_pulse()
                self._finish_dbus(dbus)
            else:  # PipeWire joins the private bus, so it waits for it
                self._finish_dbus(dbus)
                self._write_pipewire_files()
                self._spawn_pipewire()
            self._finish_xvfb(xvfb, display_r)
            self._wait_sound()
            self._start_trayer()
            self._start_dunst()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds["total"] = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Stop every part by PID (SIGTERM, then SIGKILL), newest first."""
        for name in reversed(list(self._parts)):
            self._parts.pop(name).stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Harness":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def pids(self) -> dict[str, int]:
        """PIDs of the running parts, by name."""
        return {name: p.pid for name, p in self._parts.items() if p.alive()}

    def server_crash(self) -> str | None:
        """What the sound server said before it died on its own (not killed by a test), or None if it runs."""
        part = self._parts.get(self.server)
        if part is None or part.alive():
            return None
        return f"harness: {self.server} died on its own ({part.popen.returncode})\n--- tail of {part.log} ---\n" + \
            _tail(part.log)

    def check_alive(self) -> None:
        """Raise `HarnessError` if any part has died (PulseAudio killed on purpose excepted)."""
        for name, part in self._parts.items():
            if not part.alive():
                self._fail(name, f"exited with {part.popen.returncode}")

    # ------------------------------------------------------------ helpers

    def run(self, argv: Sequence[str], timeout: float = 30, check: bool = True,
            env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
        """Run a command with `env` (default ``self.env``); text output captured."""
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        proc = subprocess.run(list(argv), env=env or self.env, timeout=timeout, **kwargs)
        if check and proc.returncode != 0:
            raise HarnessError(
                f"{' '.join(map(str, argv))} failed with {proc.returncode}:\n"
                f"{proc.stdout or ''}{proc.stderr or ''}"
            )
        return proc

    def pactl(self, *args: str, timeout: float = 10) -> str:
        """``pactl ARGS`` against the harness server; returns stdout."""
        return self.run(["pactl", *args], timeout=timeout).stdout

    def pactl_json(self, *args: str) -> object:
        """``pactl --format=json ARGS``, parsed."""
        return json.loads(self.pactl("--format=json", *args) or "null")

    def xdotool(self, *args: str, timeout: float = 10) -> str:
        """``xdotool ARGS`` on the harness display; returns stdout."""
        return self.run(["xdotool", *args], timeout=timeout).stdout

    def play(self, path: str | os.PathLike, wait: bool = True, device: str | None = None,
             timeout: float = 60, latency_msec: int | None = None) -> subprocess.Popen:
        """Play a sound file into the null sink (or `device`) with paplay.

        ``latency_msec`` asks for that much buffering, as media players do
        (tens of ms); paplay's own default is 2 s, and a null sink renders
        that far ahead, so a recording stream that joins its monitor later
        never sees the audio rendered before it joined.

        With `wait`, blocks until it finished and raises `HarnessError` if
        paplay failed; else returns the running process (the caller waits or
        terminates it).
        """
        log = open(self.log_dir / "paplay.log", "ab")
        try:
            proc = subprocess.Popen(
                ["paplay", f"--device={device or self.sink}", "--client-name=trayrip-harness",
                 *([f"--latency-msec={latency_msec}"] if latency_msec else []), os.fspath(path)],
                env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            )
        finally:
            log.close()
        if wait:
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise HarnessError(f"paplay {path} did not finish in {timeout} s")
            if code != 0:
                raise HarnessError(f"paplay {path} failed with {code}:\n"
                                   f"{_tail(self.log_dir / 'paplay.log', 5)}")
        return proc

    def record(self, device: str | None = None, rate: int = RATE,
               channels: int = CHANNELS, flowing: bool = True, pinned: bool = False) -> ParecRecording:
        """Start recording `device` (default: the null sink's monitor) with parec.

        ``rec = h.record(); h.play(wav); samples = rec.stop()``

        With ``flowing`` (the default) this returns once audio arrives: a new
        stream on an idle sink's monitor gets nothing for 0.8-2 s, and sound
        played in that window comes out late or clipped.

        ``pinned`` keeps the stream on ``device`` (PipeWire: WirePlumber moves
        a stream on the default output's monitor to the new default's, and one
        whose device went away to another; pinned, it ends instead).
        """
        rec = ParecRecording(self, device or self.monitor, rate, channels, pinned)
        if flowing:
            try:
                rec.wait_frames(rate // 50, timeout=15)
            except BaseException:
                rec.stop()
                raise
        return rec

    def let_sink_run(self, seconds: float) -> None:
        """Return once the null sink has played ``seconds`` more (its monitor's frames, counted by parec).

        Unlike a sleep, this is the sink's time: a loaded machine that wakes
        the test late cannot make it shorter than the audio it stands for.
        """
        with self.record() as clock:
            start = clock.frames_received
            clock.wait_frames(start + round(seconds * clock.rate), timeout=10 + 2 * seconds)

    def screenshot(self):
        """The whole X screen as an RGB `PIL.Image`."""
        from PIL import Image, ImageGrab

        try:
            return ImageGrab.grab(xdisplay=self.display).convert("RGB")
        except Exception:  # Pillow without XCB: ImageMagick instead
            import io

            png = self.run(["import", "-silent", "-window", "root", "png:-"],
                           text=False).stdout
            return Image.open(io.BytesIO(png)).convert("RGB")

    def tray_window(self) -> Window:
        """The trayer panel window, with its current geometry.

        With ``--widthtype request`` the panel grows leftwards as icons dock.
        """
        assert self._tray_window is not None, "harness not started"
        return self._window(self._tray_window)

    def tray_bbox(self, pad: int = 0) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the tray panel, `pad` pixels wider."""
        x0, y0, x1, y1 = self.tray_window().bbox
        w, h = self.screen_size
        return (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))

    def tray_screenshot(self, pad: int = 0):
        """A screenshot cropped to the tray panel."""
        return self.screenshot().crop(self.tray_bbox(pad))

    def tray_icons(self) -> list[Window]:
        """The icon windows docked in the tray (XEmbed clients), left to right.

        The panel holds one GtkSocket per icon and each socket holds the
        client's window; these are the sockets' children. One ``xwininfo
        -tree`` call, so icons that come or go meanwhile do not break it.
        """
        assert self._tray_window is not None, "harness not started"
        out = self.run(["xwininfo", "-tree", "-id", str(self._tray_window)], timeout=5).stdout
        rows = []
        for line in out.splitlines():
            m = _TREE_LINE.match(line)
            if m:
                rows.append((len(m["indent"]), m))
        if not rows:
            return []
        base = rows[0][0]
        icons = [
            Window(int(m["id"], 16), m["name"] or "", int(m["ax"]), int(m["ay"]),
                   int(m["w"]), int(m["h"]))
            for indent, m in rows
            if indent > base and indent == min(i for i, _ in rows if i > base)
        ]
        return sorted(icons, key=lambda w: w.x)

    def wait_tray_icons(self, count: int = 1, timeout: float = 10) -> list[Window]:
        """Wait until at least `count` icons are docked; return them."""
        def ready():
            icons = self.tray_icons()
            return icons if len(icons) >= count else None
        return wait_until(ready, timeout, f"{count} tray icon(s)", 0.1)  # type: ignore[return-value]

    def notifications(self, since: int = 0) -> list[dict]:
        """Notifications dunst received, oldest first (``since``: skip that many).

        Each is a dict with appname, summary, body, icon, urgency, id,
        category, timeout, timestamp (strings as dunst passes them).
        Take ``mark = len(h.notifications())`` before acting, then pass
        ``since=mark``.
        """
        try:
            lines = self.notification_log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except ValueError:  # a line still being written
                break
        return out[since:]

    def wait_notification(self, predicate: Callable[[dict], bool] | None = None, since: int = 0,
                          timeout: float = 10, summary: str | None = None) -> dict:
        """Wait for a notification (after index `since`) matching `predicate`
        and/or containing `summary` in its summary; return it."""
        def match(n: dict) -> bool:
            if summary is not None and summary not in n.get("summary", ""):
                return False
            return predicate(n) if predicate else True

        def find():
            return next((n for n in self.notifications(since) if match(n)), None)

        try:
            return wait_until(find, timeout, "notification", 0.05)  # type: ignore[return-value]
        except TimeoutError:
            raise HarnessError(
                f"no matching notification within {timeout} s; received: "
                f"{self.notifications(since)!r}"
            ) from None

    # ------------------------------------------------------------ PulseAudio control

    # The "pulse" names below mean the sound server of either flavour (for
    # PipeWire: the pipewire daemon, with wireplumber and pipewire-pulse).

    @property
    def pulse_pid(self) -> int | None:
        part = self._parts.get(self.server)
        return part.pid if part and part.alive() else None

    def kill_pulse(self, sig: int = signal.SIGKILL, timeout: float = 5) -> None:
        """Kill the sound server (SIGKILL: a crash) and wait until it is gone.

        PipeWire: the daemon gets `sig` first; its session manager, Pulse
        server and decoy player are then stopped too (they die with it
        anyway, a little later).
        """
        names = [self.server] if self.server == "pulseaudio" else list(_PW_PARTS)
        for name in names:
            part = self._parts.pop(name, None)
            if part is not None:
                part.stop(timeout=timeout, sig=sig if name == self.server else signal.SIGTERM)

    def start_pulse(self, timeout: float = 10) -> None:
        """Start the sound server again with the same sink, monitor and decoy (no-op if running).

        Safe to call from any thread; blocks until the server answers.
        """
        if self.pulse_pid is not None:
            return
        self.kill_pulse()  # what is left of a half-dead PipeWire stack
        if self.server == "pulseaudio":
            self._spawn_pulse()
        else:
            self._spawn_pipewire()
        self._wait_sound(timeout)

    def restart_pulse(self, sig: int = signal.SIGTERM) -> None:
        """Stop PulseAudio (with `sig`) and start it again."""
        self.kill_pulse(sig)
        self.start_pulse()

    def add_sink(self, name: str) -> int:
        """Load one more null sink ``name`` (48 kHz stereo, like the default one); returns its module id.

        Not the default: ``pactl("set-default-sink", name)`` makes it so. A
        second output ("headphones") for the tests that switch outputs.
        """
        out = self.pactl("load-module", "module-null-sink", f"sink_name={name}", f"rate={RATE}",
                         f"channels={CHANNELS}", f"sink_properties=device.description={name}")
        module = int(out.strip())
        wait_until(lambda: f"{name}.monitor" in self.pactl("list", "short", "sources"), 10,
                   f"the monitor of {name} to appear")
        return module

    def remove_sink(self, module: int) -> None:
        """Unload a sink loaded by :meth:`add_sink` (a headset going away)."""
        self.pactl("unload-module", str(module))

    def default_sink(self) -> str:
        return self.pactl("get-default-sink").strip()

    def stop_dunst(self) -> None:
        """Stop the notification daemon (a bare window-manager desktop has none) and wait until its name is gone."""
        part = self._parts.pop("dunst", None)
        if part is not None:
            part.stop()
        wait_until(lambda: not self._name_has_owner("org.freedesktop.Notifications"), 10,
                   "org.freedesktop.Notifications to be released")

    def start_dunst(self) -> None:
        """Start dunst again (no-op if it runs)."""
        part = self._parts.get("dunst")
        if part is not None and part.alive():
            return
        self._parts.pop("dunst", None)
        self._start_dunst()

    def pulse_ready(self) -> bool:
        return self.run(["pactl", "info"], timeout=5, check=False).returncode == 0

    # ------------------------------------------------------------ internals

    def _fail(self, part: str, problem: str) -> None:
        p = self._parts.get(part)
        log = p.log if p else self.log_dir / f"{part}.log"
        raise HarnessError(f"harness: {part} {problem}\n--- tail of {log} ---\n{_tail(log)}")

    def _check_tools(self) -> None:
        missing = [f"{tool} (apt package {pkg})" for tool, pkg in {**_TOOLS, **_SERVER_TOOLS[self.server]}.items()
                   if shutil.which(tool) is None]
        if missing:
            raise HarnessError(
                "harness: missing programs: " + ", ".join(missing)
                + "\nRun installer/install-debian.sh --dev (or installer/run-tests.sh)."
            )

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        env.update(
            XDG_RUNTIME_DIR=str(self.runtime_dir),
            PULSE_SERVER=self.pulse_server,
            # Never autospawn a PulseAudio with the system config when the
            # harness server is down (reliability tests kill it on purpose).
            PULSE_CLIENTCONFIG=str(self.dir / "pulse-client.conf"),
            PULSE_COOKIE=str(self.dir / "pulse-cookie"),
            LC_ALL="C.UTF-8",
            LANG="C.UTF-8",
            XDG_SESSION_TYPE="x11",
            GDK_BACKEND="x11",
            NO_AT_BRIDGE="1",  # GTK: no accessibility bus on the private bus
            # The machine's logind must never see a test's sleep inhibitors: no system bus here
            # (tests/desktop/test_sleep_inhibit.py brings its own logind stand-in).
            DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={self.dir / 'no-system-bus'}",
        )
        return env

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None,
               stdout=None, pass_fds: Iterable[int] = (), stdin=subprocess.DEVNULL) -> _Part:
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as logf:
            try:
                popen = subprocess.Popen(
                    _with_pdeathsig(argv),
                    env=env or self.env,
                    stdin=stdin,
                    stdout=stdout if stdout is not None else logf,
                    stderr=logf,
                    pass_fds=tuple(pass_fds),
                    cwd=self.dir,
                )
            except OSError as e:
                raise HarnessError(f"harness: cannot start {name}: {e}") from e
        part = _Part(name, argv, log, popen)
        self._parts[name] = part
        return part

    def _wait(self, name: str, predicate: Callable[[], object], timeout: float, what: str,
              interval: float = 0.05) -> object:
        """Poll `predicate`; fail with the part's log if it dies or times out."""
        t0 = time.monotonic()
        part = self._parts[name]
        deadline = t0 + timeout
        while True:
            value = predicate()
            if value:
                self.startup_seconds[name] = time.monotonic() - t0
                return value
            if not part.alive():
                self._fail(name, f"exited with {part.popen.returncode} before {what}")
            if time.monotonic() >= deadline:
                self._fail(name, f"did not get ready within {timeout:g} s ({what})")
            time.sleep(interval)

    def _read_line(self, name: str, fd: int, timeout: float) -> str:
        """Read one line from a pipe fd, with a timeout, failing if the part dies."""
        buf = b""
        deadline = time.monotonic() + timeout
        part = self._parts[name]
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail(name, f"did not report its address within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], min(left, 0.1))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    try:
                        part.popen.wait(1)  # so the error can show its exit code
                    except subprocess.TimeoutExpired:
                        pass
                    self._fail(name, f"closed its pipe before reporting its address "
                               f"(exit code {part.popen.poll()})")
                buf += chunk
            elif not part.alive():
                self._fail(name, f"exited with {part.popen.returncode}")
        return buf.split(b"\n", 1)[0].decode().strip()

    # D-Bus ------------------------------------------------------------

    def _spawn_dbus(self) -> _Part:
        # Our own config rather than --session: the stock session config
        # activates services from /usr/share/dbus-1/services (a second dunst,
        # at-spi, ...) that would escape the harness's PID bookkeeping.
        conf = self.dir / "dbus-session.conf"
        conf.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            "<busconfig>\n"
            "  <type>session</type>\n"
            "  <keep_umask/>\n"
            f"  <listen>unix:path={self.dir / 'bus'}</listen>\n"
            "  <auth>EXTERNAL</auth>\n"
            '  <policy context="default">\n'
            '    <allow send_destination="*" eavesdrop="true"/>\n'
            '    <allow eavesdrop="true"/>\n'
            '    <allow own="*"/>\n'
            "  </policy>\n"
            "</busconfig>\n"
        )
        return self._spawn(
            "dbus",
            ["dbus-daemon", "--nofork", f"--config-file={conf}", "--print-address=1"],
            stdout=subprocess.PIPE,
        )

    def _finish_dbus(self, part: _Part) -> None:
        t0 = time.monotonic()
        assert part.popen.stdout is not None
        try:
            self.bus_address = self._read_line("dbus", part.popen.stdout.fileno(), 10)
        finally:
            part.popen.stdout.close()
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        self.startup_seconds["dbus"] = time.monotonic() - t0

    def _name_has_owner(self, name: str) -> bool:
        proc = self.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/",
             "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
            timeout=5, check=False,
        )
        return proc.returncode == 0 and "boolean true" in proc.stdout

    # Xvfb ------------------------------------------------------------

    def _spawn_xvfb(self) -> tuple[_Part, int]:
        read_fd, write_fd = os.pipe()
        w, h = SCREEN
        try:
            part = self._spawn(
                "xvfb",
                ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{w}x{h}x24",
                 "+extension", "RECORD", "-nolisten", "tcp", "-noreset", "-dpi", "96"],
                pass_fds=[write_fd],
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        return part, read_fd

    def _finish_xvfb(self, part: _Part, read_fd: int) -> None:
        t0 = time.monotonic()
        try:
            number = self._read_line("xvfb", read_fd, 10)
        finally:
            os.close(read_fd)
        if not number.isdigit():
            self._fail("xvfb", f"reported a strange display number {number!r}")
        self.display = f":{number}"
        self.env["DISPLAY"] = self.display
        self.startup_seconds["xvfb"] = time.monotonic() - t0

    # PulseAudio ------------------------------------------------------------

    def _write_pulse_files(self) -> None:
        (self.dir / "pulse").mkdir(mode=0o700, exist_ok=True)
        (self.dir / "pulse-home").mkdir(mode=0o700, exist_ok=True)
        (self.dir / "pulse-client.conf").write_text("autospawn = no\n")
        (self.dir / "pulse.pa").write_text(
            "# trayrip test harness: a headless server with a null sink and a decoy source\n"
            "load-module module-native-protocol-unix auth-anonymous=1 auth-cookie-enabled=0 "
            f"socket={self.dir / 'pulse' / 'native'}\n"
            f"load-module module-null-sink sink_name={SINK} rate={RATE} channels={CHANNELS} "
            f"format=s16le sink_properties=device.description={SINK}\n"
            f"load-module module-sine-source source_name={DECOY_SOURCE} rate={RATE} "
            f"frequency={DECOY_FREQUENCY}\n"
            f"set-default-sink {SINK}\n"
            f"set-default-source {DECOY_SOURCE}\n"
        )

    def _spawn_pulse(self) -> _Part:
        env = dict(self.env)
        # Keep the daemon's state (cookie, device database) in the private dir,
        # away from the real user's ~/.config/pulse.
        env.update(HOME=str(self.dir / "pulse-home"),
                   XDG_CONFIG_HOME=str(self.dir / "pulse-home" / ".config"),
                   PULSE_STATE_PATH=str(self.dir / "pulse-home" / "state"),
                   PULSE_RUNTIME_PATH=str(self.dir / "pulse"))
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        env.pop("DISPLAY", None)
        log = self.log_dir / "pulseaudio.log"
        # --disable-shm: PulseAudio 16.1 (Debian 12) aborts now and then (2 runs in 20 of the tracks test
        # under load) when a player's stream ends while a recorder of the monitor gets its blocks by
        # shared memory: "memblock.c: Assertion 'pa_atomic_load(&b->pool->stat.n_imported) > 0' failed
        # ... memblock_replace_import()", after "pstream.c: Cannot send block reference with
        # non-registered memfd ID". A server bug, not trayrip's (it waits for a lost server and records on:
        # test_server_back_system.py); with the audio sent over the socket it does not happen.
        return self._spawn(
            "pulseaudio",
            ["pulseaudio", "-n", "--daemonize=no", "--system=no", "--exit-idle-time=-1",
             "--disallow-exit", "--use-pid-file=no", "--realtime=no", "--high-priority=no", "--disable-shm=yes",
             "--log-time=1", "--log-level=info", f"--log-target=file:{log}",
             "-F", str(self.dir / "pulse.pa")],
            env=env,
        )

    def _wait_pulse(self, timeout: float = 10) -> None:
        self._wait("pulseaudio", self.pulse_ready, timeout, "pactl info answers")
        # PulseAudio logs a failing line of its -F script and carries on; the
        # script has run by the time the socket answers, so check its result.
        info = self.pactl("info")
        want = (f"Default Sink: {SINK}\n", f"Default Source: {DECOY_SOURCE}\n")
        if not all(w in info for w in want):
            self._fail("pulseaudio", f"is up without the {SINK} sink and {DECOY_SOURCE} "
                       f"default source (pactl info:\n{info})")

    def _wait_sound(self, timeout: float = 10) -> None:
        if self.server == "pulseaudio":
            self._wait_pulse(timeout)
        else:
            self._wait_pipewire(timeout)

    # PipeWire ------------------------------------------------------------

    def _pipewire_env(self) -> dict[str, str]:
        env = dict(self.env)
        home = self.dir / "pw-home"
        # WirePlumber keeps its state (default nodes, stream targets) under
        # XDG_STATE_HOME: in the private dir, never the real user's.
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
                   XDG_STATE_HOME=str(home / ".state"))
        env.pop("DISPLAY", None)
        env.pop("PULSE_SERVER", None)
        return env

    def _write_pipewire_files(self) -> None:
        lua = self.dir / "pw-home" / ".config" / "wireplumber" / "main.lua.d"
        lua.mkdir(parents=True, exist_ok=True)
        # Loaded after 50-alsa-config.lua and before 90-enable-all.lua: a
        # private session manager must not open the machine's sound cards.
        (lua / "51-trayrip-harness.lua").write_text(
            "alsa_monitor.enabled = false\n"
            "v4l2_monitor.enabled = false\n"
            "libcamera_monitor.enabled = false\n"
        )

    def _spawn_pipewire(self) -> None:
        env = self._pipewire_env()
        # A killed daemon leaves its socket behind; waiting for the file
        # must wait for the new one.
        (self.dir / "pipewire-0").unlink(missing_ok=True)
        self._spawn("pipewire", ["pipewire"], env=env)
        self._wait("pipewire", (self.dir / "pipewire-0").exists, 10, "its socket exists", 0.02)
        self._spawn("wireplumber", ["wireplumber"], env=env)
        self._spawn("pipewire-pulse", ["pipewire-pulse"], env=env)

    def _pw_link(self, out_port: str, in_port: str) -> bool:
        proc = self.run(["pw-link", out_port, in_port], timeout=5, check=False)
        return proc.returncode == 0 or "File exists" in proc.stderr

    def _wait_pipewire(self, timeout: float = 10) -> None:
        self._wait("pipewire-pulse", self.pulse_ready, timeout, "pactl info answers")
        self.pactl("load-module", "module-null-sink", f"sink_name={SINK}", f"rate={RATE}",
                   f"channels={CHANNELS}", f"sink_properties=device.description={SINK}")
        self.pactl("load-module", "module-null-sink", f"sink_name={DECOY_SOURCE}",
                   "media.class=Audio/Source/Virtual", f"rate={RATE}", "channels=1")
        # The tone: raw s16 mono from a generator into an unlinked pw-cat
        # (``--target 0``), which pw-link joins to the decoy source. PipeWire
        # 1.x's pw-cat reads a pipe only with --raw (0.3.x has no such option).
        pw_cat = shutil.which("pw-cat") or "pw-cat"
        feeder = self._spawn(
            "decoy-feeder",
            [sys.executable, "-c",
             "import math, struct, sys\n"
             f"rate, hz = {RATE}, {DECOY_FREQUENCY}\n"
             "sec = struct.pack(f'<{rate}h', *(int(12000 * math.sin(2 * math.pi * hz * i / rate))"
             " for i in range(rate)))\n"
             "while True:\n    sys.stdout.buffer.write(sec)\n    sys.stdout.buffer.flush()\n"],
            stdout=subprocess.PIPE,
        )
        try:
            self._spawn(
                "decoy-tone",
                [pw_cat, "-p", "--target", "0", "--format", "s16", f"--rate={RATE}", "--channels=1",
                 "--latency=20ms", "-P", f"{{ node.name={_DECOY_NODE} node.autoconnect=false }}",
                 *raw_pcm_args(pw_cat), "-"],
                stdin=feeder.popen.stdout,
            )
        finally:
            assert feeder.popen.stdout is not None
            feeder.popen.stdout.close()
        self._wait("decoy-tone",
                   lambda: self._pw_link(f"{_DECOY_NODE}:output_MONO", f"{DECOY_SOURCE}:input_MONO"),
                   timeout, "pw-link joins it to the decoy source", 0.05)
        self.pactl("set-default-sink", SINK)
        self.pactl("set-default-source", DECOY_SOURCE)
        info = self.pactl("info")
        want = (f"Default Sink: {SINK}\n", f"Default Source: {DECOY_SOURCE}\n", "PipeWire")
        if not all(w in info for w in want):
            self._fail("pipewire-pulse", f"is up without the {SINK} sink and {DECOY_SOURCE} "
                       f"default source (pactl info:\n{info})")

    # trayer ------------------------------------------------------------

    def _window(self, wid: int) -> Window:
        out = self.run(["xwininfo", "-id", str(wid)], timeout=5).stdout
        fields = {}
        name = ""
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("xwininfo: Window id:"):
                name = line.split('"', 1)[1].rsplit('"', 1)[0] if '"' in line else ""
            elif ":" in line:
                k, _, v = line.partition(":")
                fields[k.strip()] = v.strip()
        return Window(wid, name, int(fields["Absolute upper-left X"]),
                      int(fields["Absolute upper-left Y"]), int(fields["Width"]),
                      int(fields["Height"]))

    def _find_tray(self) -> int | None:
        proc = self.run(["xdotool", "search", "--onlyvisible", "--classname", "^panel$"],
                        timeout=5, check=False)
        ids = [int(x) for x in proc.stdout.split() if x.isdigit()]
        return ids[0] if ids else None

    def _start_trayer(self) -> None:
        self._spawn(
            "trayer",
            ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request",
             "--heighttype", "pixel", "--height", "32", "--SetDockType", "true",
             "--SetPartialStrut", "true", "--transparent", "false", "--tint", "0xffffff",
             "--expand", "true", "--padding", "0", "--iconspacing", "2"],
        )
        self._tray_window = self._wait("trayer", self._find_tray, 10, "its panel window is mapped")

    # dunst ------------------------------------------------------------

    def _start_dunst(self) -> None:
        script = self.dir / "dunst-log.py"
        script.write_text(
            f"#!{sys.executable}\n"
            "# dunst runs this for every notification (rule [trayrip_log]).\n"
            "import json, os\n"
            "keys = ('APP_NAME', 'SUMMARY', 'BODY', 'ICON_PATH', 'URGENCY', 'ID', 'PROGRESS',\n"
            "        'CATEGORY', 'STACK_TAG', 'URLS', 'TIMEOUT', 'TIMESTAMP', 'DESKTOP_ENTRY')\n"
            "rec = {k.lower(): os.environ.get('DUNST_' + k, '') for k in keys}\n"
            "rec['appname'] = rec.pop('app_name'); rec['icon'] = rec.pop('icon_path')\n"
            "line = (json.dumps(rec) + '\\n').encode()\n"
            f"fd = os.open({str(self.notification_log)!r}, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)\n"
            "os.write(fd, line)\n"
            "os.close(fd)\n"
        )
        script.chmod(0o700)
        conf = self.dir / "dunstrc"
        conf.write_text(
            "[global]\n"
            "    monitor = 0\n"
            "    follow = none\n"
            "    width = 320\n"
            "    height = 120\n"
            # bottom-left: notifications never cover the tray (top right)
            "    origin = bottom-left\n"
            "    offset = 10x10\n"
            "    notification_limit = 0\n"
            "    idle_threshold = 0\n"
            "    show_age_threshold = -1\n"
            "    font = Monospace 9\n"
            "    browser = /bin/false\n"
            "    dmenu = /bin/false\n"
            "    mouse_left_click = close_current\n"
            "[urgency_low]\n    timeout = 5\n"
            "[urgency_normal]\n    timeout = 5\n"
            "[urgency_critical]\n    timeout = 0\n"
            "[trayrip_log]\n"
            f"    script = {script}\n"
        )
        self._spawn("dunst", ["dunst", "-conf", str(conf), "-verbosity", "info"])
        self._wait("dunst", lambda: self._name_has_owner("org.freedesktop.Notifications"),
                   10, "org.freedesktop.Notifications is owned", interval=0.05)
