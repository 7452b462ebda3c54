"""Recording through a child process that streams raw PCM into a pipe (Linux).

The child is ``pw-record`` (native PipeWire: the default on PipeWire) or
``parec`` (through pipewire-pulse, or on PulseAudio for one application's
private sink); the choice is measured by ``bench/bench_pipewire.py``
(README, "PipeWire"). No maintained Python binding for PipeWire ships in
Debian 12, GStreamer would be a large dependency for one stream, and a
binding would run PipeWire's callbacks under the GIL.

Threads: the ``trayrip-pw-reader`` thread reads the pipe twice a second
(without pausing while a server catches up after a stall: ``read_pace``) and
hands what gathered to the sink (O(1): wrap and ``put_nowait``); start/stop/error run on
the controlling thread. The child gets its own session (a terminal's Ctrl+C
must reach trayrip, which then files the recording, not the child). It dies
with trayrip, even by ``kill -9``: of SIGPIPE at its next write (nobody else
holds the pipe's read end), and of a death signal (``setpriv --pdeathsig``)
in case it is not writing; since that signal fires when the *thread* that
forked exits, children are forked by one thread that lives as long as the
process (``trayrip-spawner``).
"""
from __future__ import annotations

import fcntl
import functools
import logging
import os
import queue
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import threading
import time

from ..errors import CaptureError
from .base import AudioFormat, Block, BlockSink
from .childtarget import PipeWireTarget, pw_record_path
from .read_pace import ReadPace
from .startup_zeros import StartupZeros

__all__ = ["MARKER", "PipeWireTarget", "PipeWireSource", "record_argv", "pw_record_path", "raw_pcm_args"]

log = logging.getLogger(__name__)

MARKER = "trayrip"  # node names (and routing modules/links) start with it, so leftovers can be found
NODE_NAME = MARKER + "-capture"
_FORMATS = {2: "s16", 3: "s24"}
_CHANNEL_MAPS = {1: "mono", 2: "stereo"}
_FIRST_DATA_WAIT = 0.5  # seconds start() waits for first audio or an early failure (not longer: idle monitors send nothing)
_READER_END_WAIT = 5.0  # seconds start() lets the reader drain a child that ended at once
# The graph delivers whole cycles: at stop, at most this much of the newest audio is not out yet.
# (pw-record's own default is 100 ms; 40 ms is what the parec and PortAudio ways hold back too.)
_LATENCY = "40ms"
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ (Python 3.10+ names it; Linux value)
_F_GETPIPE_SZ = 1032
# Seconds between reads of the pipe. Each wake-up of a Python thread costs about
# half a millisecond of CPU (cold caches), so reading twice a second rather than
# every cycle is what keeps trayrip near pw-record's own cost (README, "PipeWire").
# The price: a kill -9 loses what is in the pipe, at most this long.
_READ_EVERY = 0.5
_QUIET = 0.1  # seconds without a write after which what a catch-up gathered is handed over
_PIPE_BYTES = 1 << 20


@functools.lru_cache(maxsize=None)
def raw_pcm_args(exe: str) -> tuple[str, ...]:
    """What makes this ``pw-cat``/``pw-record`` read or write bare PCM on a pipe.

    PipeWire 1.x's pw-cat writes an AU header before the samples on stdout
    unless given ``--raw`` (and cannot read ``-`` without it); 0.3.x has no
    ``--raw`` and is always raw there. Asked of the tool's ``--help`` once per
    program and process, since distributions ship both.
    """
    try:
        out = subprocess.run([exe, "--help"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=10, env=dict(os.environ, LC_ALL="C", LANG="C"), errors="replace")
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("could not ask %s for its options (%s); assuming no --raw", exe, exc)
        return ()
    helptext = out.stdout + out.stderr
    return ("--raw",) if any(word.strip(",") == "--raw" for word in helptext.split()) else ()


def parec_argv(exe: str, fmt: AudioFormat, target: PipeWireTarget, *, node_name: str = NODE_NAME) -> list[str]:
    """``parec`` (pipewire-pulse or PulseAudio) writing raw PCM of ``fmt`` on stdout."""
    if fmt.sample_width not in _FORMATS or not target.pulse_source:
        raise CaptureError(f"parec cannot record {target.description} at {fmt.bits} bits")
    return [
        exe, "--raw", f"--device={target.pulse_source}", f"--format=s{fmt.bits}le", f"--rate={fmt.rate}",
        f"--channels={fmt.channels}", "--latency-msec=40", f"--client-name={node_name}",
        f"--stream-name={node_name}", f"--property=node.name={node_name}",
    ]


def record_argv(
    exe: str, fmt: AudioFormat, target: PipeWireTarget, *, node_name: str = NODE_NAME, latency: str = _LATENCY,
    raw: tuple[str, ...] = (),
) -> list[str]:
    """The argument list of the child: raw PCM of ``fmt`` on stdout (``raw``: :func:`raw_pcm_args`)."""
    if fmt.sample_width not in _FORMATS:
        raise CaptureError(f"PipeWire capture takes 16 or 24 bits, not {fmt.bits}")
    props = [f"node.name={node_name}", "media.role=Production", f"node.description={node_name}"]
    if target.capture_sink:
        props.append("stream.capture.sink=true")
    if target.node is None:
        props.append("node.autoconnect=false")
    argv = [
        exe,
        "--format", _FORMATS[fmt.sample_width],
        "--rate", str(fmt.rate),
        "--channels", str(fmt.channels),
        "--latency", latency,
        "-P", "{ " + " ".join(props) + " }",
    ]
    if fmt.channels in _CHANNEL_MAPS:
        argv += ["--channel-map", _CHANNEL_MAPS[fmt.channels]]
    argv += ["--target", target.node if target.node is not None else "0", *raw, "-"]
    return argv


def _pipe_size(fd: int) -> int:
    """How many bytes the pipe holds."""
    try:
        return fcntl.fcntl(fd, _F_GETPIPE_SZ)
    except OSError:
        return 1 << 16


def _widen_pipe(fd: int) -> None:
    """Let the pipe hold seconds of audio, not 64 KiB: the child writes from
    its real-time thread and must never wait for our reader (a Python thread
    that a loaded machine may hold back)."""
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            size = int(f.read())
        fcntl.fcntl(fd, _F_SETPIPE_SZ, min(size, _PIPE_BYTES))
    except (OSError, ValueError) as exc:
        log.debug("pipe size left as it is: %s", exc)


_spawn_lock = threading.Lock()
_spawn_queue: queue.Queue | None = None


def _spawner(requests: queue.Queue) -> None:
    """The spawner thread: forks children for any thread, and never exits."""
    while True:
        argv, kwargs, reply = requests.get()
        try:
            reply.put(subprocess.Popen(argv, **kwargs))
        except BaseException as exc:  # handed to the caller
            reply.put(exc)


def spawn_child(argv: list[str], **kwargs) -> subprocess.Popen:
    """``Popen(argv)`` that dies with this process (any thread may call it)."""
    global _spawn_queue
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return subprocess.Popen(argv, **kwargs)  # SIGPIPE alone then
    with _spawn_lock:
        if _spawn_queue is None:
            _spawn_queue = queue.Queue()
            threading.Thread(target=_spawner, args=(_spawn_queue,), name="trayrip-spawner", daemon=True).start()
        requests = _spawn_queue
    reply: queue.Queue = queue.Queue(maxsize=1)
    requests.put(([setpriv, "--pdeathsig", "KILL", "--", *argv], kwargs, reply))
    result = reply.get()
    if isinstance(result, BaseException):
        raise result
    return result


class PipeWireSource:
    """A CaptureSource reading a recorder child's stdout (``tool``: pw-record or parec)."""

    def __init__(self, fmt: AudioFormat, target: PipeWireTarget, *, node_name: str = NODE_NAME,
                 exe: str | None = None, tool: str = "pw-record"):
        self.format = fmt
        self.target = target
        self.description = target.description
        self.node_name = node_name
        self.tool = tool
        exe = exe or pw_record_path(tool)
        if exe is None:
            raise CaptureError(f"{tool} was not found: install it (or set TRAYRIP_CAPTURE=portaudio)")
        if tool == "parec":
            self.argv = parec_argv(exe, fmt, target, node_name=node_name)
        else:
            self.argv = record_argv(exe, fmt, target, node_name=node_name, raw=raw_pcm_args(exe))
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()  # the sink is called, and cleared, under it
        self._sink: BlockSink | None = None
        self._stopping = False
        self._error: str | None = None
        self._stderr = None
        self._first = threading.Event()
        self._wake = threading.Event()
        self._reads_started = 0  # reads begun / delivered so far: drain() waits for one begun after it asked
        self._reads_done = 0
        self._reader_ended = False
        self._read_done = threading.Condition()
        self.block_interval = _READ_EVERY  # seconds of audio per block (the recorder paces itself by it)
        self.bytes_read = 0

    # -- controlling thread ------------------------------------------------
    def start(self, sink: BlockSink) -> None:
        self.launch(sink)
        self.wait_running()

    def launch(self, sink: BlockSink) -> None:
        """Start the child and its reader without waiting for audio (:meth:`wait_running` does)."""
        self._stopping = False
        self._wake.clear()
        self._reader_ended = False
        self._error = None
        self._sink = sink
        self._stderr = tempfile.TemporaryFile()
        env = dict(os.environ, LC_ALL="C", LANG="C")
        try:
            self._proc = spawn_child(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
                env=env, start_new_session=True,
            )
        except OSError as exc:
            self._sink = None
            raise CaptureError(f"cannot start pw-record: {exc}") from None
        _widen_pipe(self._proc.stdout.fileno())
        self._reader = threading.Thread(target=self._read, name="trayrip-pw-reader", daemon=True)
        self._reader.start()

    def wait_running(self) -> None:
        """Wait for the first audio or an early failure (at most ``_FIRST_DATA_WAIT``); raise on failure."""
        if self._proc is None:
            raise CaptureError(f"the capture of {self.description} was stopped before it ran")
        deadline = time.monotonic() + _FIRST_DATA_WAIT
        while not self._first.wait(0.02):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                break
        if self._proc.poll() is not None and not self._first.is_set():
            # A child that wrote audio before it ended ran: what its pipe holds is read to the end first
            # (the reader may be pausing, or not yet scheduled on a loaded machine).
            self._wake.set()
            with self._read_done:
                self._read_done.wait_for(lambda: self._reader_ended, _READER_END_WAIT)
            if not self._first.is_set():
                detail = self._stderr_tail()
                self.stop()
                raise CaptureError(
                    f"cannot record {self.description} at {self.format.describe()} through PipeWire"
                    + (f" ({detail})" if detail else "")
                )
        log.info("%s (pid %d) capturing %s", self.tool, self._proc.pid, self.description)

    def stop(self) -> None:
        """End the child, deliver what is still in the pipe, then detach the sink.

        Quick: the pipe holds what gathered since the last read (``block_interval``, 0.5 s; after a
        stall, a catch-up of up to the pipe's 5.5 s).
        """
        self._stopping = True
        self._wake.set()
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                try:
                    proc.wait(1.0)
                except subprocess.TimeoutExpired:
                    log.error("pw-record (pid %d) does not exit", proc.pid)
            except ProcessLookupError:
                pass
        reader, self._reader = self._reader, None
        if reader is not None and reader is not threading.current_thread():
            reader.join(1.0)  # reads up to EOF: the audio captured before the stop
        with self._lock:
            self._sink = None
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def drain(self, timeout: float = 1.0) -> None:
        """Deliver what has gathered in the pipe now, not at the next read (any thread but the reader).

        For "save the last N seconds" and the end of a pre-roll recording: the newest half
        second is in the pipe, not yet with the ring or the recorder. Waits for a read begun
        after the call (at most ``timeout``); returns at once when the pipe is empty.
        """
        proc = self._proc
        if self._reader is None or self._stopping or proc is None or proc.stdout is None:
            return
        try:
            waiting = struct.unpack("i", fcntl.ioctl(proc.stdout.fileno(), termios.FIONREAD, b"\0" * 4))[0]
        except (OSError, ValueError):
            return
        if not waiting:  # an empty pipe: nothing to hand over (and a read now would wait for the next cycle)
            return
        with self._read_done:
            wanted = self._reads_started + 1
        self._wake.set()
        with self._read_done:
            self._read_done.wait_for(
                lambda: self._reads_done >= wanted or self._stopping or self._reader_ended, timeout)

    def error(self) -> str | None:
        if self._stopping:
            return None
        if self._error is None and self._proc is not None and self._proc.poll() is not None:
            self._error = self._lost_message()
        return self._error

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (for tests and diagnostics)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    # -- internals ---------------------------------------------------------
    def _stderr_tail(self) -> str:
        f = self._stderr
        if f is None:
            return ""
        try:
            f.seek(0)
            lines = f.read()[-2000:].decode(errors="replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1].strip() if lines else ""

    def _lost_message(self) -> str:
        detail = self._stderr_tail()
        return (f"the capture stream from {self.description} stopped (device or sound server lost)"
                + (f": {detail}" if detail else ""))

    def _deliver(self, data: bytes, arrival: float) -> None:  # reader thread
        if data:
            with self._lock:
                sink = self._sink
                if sink is not None:
                    sink(Block(data, len(data) // self.format.bytes_per_frame, arrival))

    def _hand_over(self, view: memoryview, held: int, zeros: StartupZeros, arrival: float) -> int:
        """Deliver the whole frames at the front of ``view`` (reader thread); returns the bytes kept."""
        bpf = self.format.bytes_per_frame
        usable = held - held % bpf
        if usable:
            data = zeros.feed(bytes(view[:usable]))
            view[: held - usable] = view[usable:held]
            self._deliver(data, arrival)
            self._first.set()
        return held - usable

    def _read(self) -> None:
        """Reader thread: pipe bytes -> whole-frame Blocks, until EOF.

        It reads every ``block_interval`` s what has gathered in the pipe (the
        child writes each graph cycle, every 10-100 ms): few wake-ups of this
        thread and of the recorder are most of what recording costs.
        """
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        bpf = self.format.bytes_per_frame
        per_second = self.format.rate * bpf
        capacity = _pipe_size(fd)
        pause = capacity / per_second / 4  # the longest pause the pipe allows (a quarter of it)
        most = int(_READ_EVERY * self.format.rate) * bpf  # a block's most audio; also what a catch-up gathers
        buffer = bytearray(capacity + most + bpf)
        view = memoryview(buffer)
        held = 0  # bytes not handed over yet (a torn frame; during a catch-up, up to a block's worth)
        zeros = StartupZeros(bpf, self.format.rate)  # the new stream's first, zero-filled cycle
        pace = ReadPace(per_second)
        quiet = select.poll()
        quiet.register(fd, select.POLLIN)
        arrival = 0.0
        asked = False  # drain() or stop() woke the reader: what this read brings is handed over at once
        full = 0  # reads that found the pipe full
        while True:
            if held >= bpf and not quiet.poll(_QUIET * 1000):  # (poll: select() fails for descriptors past 1023)
                held = self._hand_over(view, held, zeros, arrival)  # a catch-up's gathering ended quietly
            with self._read_done:
                self._reads_started += 1
            began = time.monotonic()
            try:
                n = os.readv(fd, [view[held:]])
            except (OSError, ValueError):
                n = 0
            if not n:
                break
            arrival = time.monotonic()
            if n >= capacity:  # (said once per stream: a reader starved for long would say it at every read)
                full += 1
                (log.warning if full == 1 else log.debug)(
                    "the capture pipe was full (%.1f s of audio): %s may have lost some", n / per_second, self.tool)
            self.bytes_read += n
            held += n
            may_pause = self._stopping or pace.may_pause(n, began, arrival)
            # While catching up, reads come every cycle: they are handed over a block at a time (as many
            # blocks as usual), and at once when drain() or stop() asks (they set _wake).
            asked = asked or self._wake.is_set()
            if may_pause or asked or held >= min(most, self.block_interval * per_second):
                held = self._hand_over(view, held, zeros, arrival)
                asked = False
            with self._read_done:
                self._reads_done = self._reads_started
                self._read_done.notify_all()
            if may_pause and not self._stopping:
                # Let the pipe gather; stop() and drain() cut this short. stop() sets _stopping before
                # waking us, so clearing here can never swallow a stop.
                asked = self._wake.wait(min(self.block_interval, pause))
                self._wake.clear()
        self._hand_over(view, held, zeros, time.monotonic())
        self._deliver(zeros.flush(), time.monotonic())
        with self._read_done:
            self._reader_ended = True
            self._read_done.notify_all()
        if not self._stopping:
            try:
                proc.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
            self._error = self._lost_message()
            log.info("pw-record ended: %s", self._error)
