"""PortAudio capture through PyAudio (PyAudioWPatch on Windows): the only module importing it.

Threads: :class:`PortAudioSource` callbacks run on PortAudio's thread and do
O(1) work (wrap the buffer, hand it to the sink). Opening and closing happen
on the controlling thread.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import threading
import time

from ..errors import CaptureError
from .base import AudioFormat, Block, BlockSink, DeviceInfo
from .discovery import CapturePlan

__all__ = ["PortAudio", "PortAudioSource", "load_pyaudio"]

log = logging.getLogger(__name__)

_ENV_LOCK = threading.Lock()
_STDERR_LOCK = threading.RLock()
_stderr_depth = 0
_stderr_saved = -1


def load_pyaudio():
    """Import PyAudio (PyAudioWPatch first, for WASAPI loopback) or explain what to install."""
    try:
        import pyaudiowpatch as pyaudio  # type: ignore[import-not-found]

        return pyaudio
    except ImportError:
        pass
    try:
        import pyaudio  # type: ignore[import-not-found]
    except ImportError as exc:
        hint = "pip install PyAudioWPatch" if sys.platform.startswith("win") else "install PortAudio and PyAudio"
        raise CaptureError(f"PyAudio is not available ({exc}): {hint}") from None
    return pyaudio


@contextlib.contextmanager
def _quiet_stderr():
    """ALSA and JACK print dozens of harmless lines while PortAudio probes devices.

    Nested and concurrent uses share one redirection (fd 2 is process-wide).
    """
    global _stderr_depth, _stderr_saved
    if os.environ.get("TRAYRIP_DEBUG_PORTAUDIO"):
        yield
        return
    with _STDERR_LOCK:
        if _stderr_depth == 0:
            try:
                if sys.stderr is not None:
                    sys.stderr.flush()
                saved = os.dup(2)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 2)
                os.close(devnull)
                _stderr_saved = saved
            except (OSError, ValueError):
                _stderr_saved = -1
        _stderr_depth += 1
    try:
        yield
    finally:
        with _STDERR_LOCK:
            _stderr_depth -= 1
            if _stderr_depth == 0 and _stderr_saved >= 0:
                os.dup2(_stderr_saved, 2)
                os.close(_stderr_saved)
                _stderr_saved = -1


# Lines PortAudio's ALSA host API and ALSA itself print on fd 2 while a stream runs (e.g. when the
# sound server dies: "Expression 'PaAlsaStream_WaitForFrames( ... )' failed in ..."). They mean
# nothing to a user; the one-line error comes from the recorder instead.
_NOISE = (b"Expression '", b"ALSA lib ", b"PaAlsa", b"Cannot connect to server", b"jack server")
# How the pump logs a noise line. With ``-vv`` the console handler writes that record to fd 2 -- the
# pipe: a line holding this is trayrip's own and passes (read as noise again, it looped for ever).
_LOGGED = b"portaudio: "


class _StderrFilter:
    """While a stream runs, fd 2 is a pipe read by a ``trayrip-stderr`` thread.

    That thread logs PortAudio/ALSA lines at debug level and passes every
    other byte (Python's own messages, the progress line) straight on to the
    real stderr, unfiltered and unbuffered. Nested streams share one pipe.
    Removing it puts the real stderr back on fd 2 and writes a marker into
    the pipe; the thread forwards everything before the marker, says it is
    done, and from then on only passes bytes through until the pipe's last
    writer is gone (a child process started meanwhile may still hold it), so
    nothing is lost and nobody gets SIGPIPE.
    """

    _MARK = b"\x00trayrip-stderr-end\x00"

    def __init__(self):
        self.depth = 0
        self._write_fd = -1
        self._drained: threading.Event | None = None

    def install(self) -> None:
        with _STDERR_LOCK:
            self.depth += 1
            if self.depth > 1 or os.environ.get("TRAYRIP_DEBUG_PORTAUDIO"):
                return
            try:
                if sys.stderr is not None:
                    sys.stderr.flush()
                read_fd, write_fd = os.pipe()
                saved = os.dup(2)
                os.dup2(write_fd, 2)
            except (OSError, ValueError) as exc:
                log.debug("cannot filter stderr: %s", exc)
                return
            self._write_fd, self._saved = write_fd, saved
            self._drained = threading.Event()
            threading.Thread(
                target=self._pump, args=(read_fd, saved, self._drained), name="trayrip-stderr", daemon=True
            ).start()

    def remove(self) -> None:
        with _STDERR_LOCK:
            self.depth = max(0, self.depth - 1)
            if self.depth or self._write_fd < 0:
                return
            try:
                if sys.stderr is not None:
                    sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(self._saved, 2)  # the pump owns (and later closes) its copy of the real stderr
            try:
                os.write(self._write_fd, self._MARK)
                if not self._drained.wait(2.0):
                    log.debug("stderr pump did not drain in time")
            finally:
                os.close(self._write_fd)
                self._write_fd = -1

    @classmethod
    def _pump(cls, read_fd: int, out_fd: int, drained: threading.Event) -> None:
        pending = b""
        try:
            while not drained.is_set():
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                pending += chunk
                if cls._MARK in pending:
                    pending, _, rest = pending.partition(cls._MARK)
                    left = cls._forward(out_fd, pending)
                    if left:
                        os.write(out_fd, left)
                    pending = b""
                    drained.set()
                    if rest:
                        os.write(out_fd, rest)
                    break
                pending = cls._forward(out_fd, pending)
            drained.set()
            while True:  # pass-through until every writer has closed the pipe
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                os.write(out_fd, chunk)
        except OSError:
            pass
        finally:
            drained.set()
            os.close(read_fd)
            os.close(out_fd)

    @staticmethod
    def _forward(out_fd: int, data: bytes) -> bytes:
        """Write ``data`` minus noise lines; returns what must wait for more bytes."""
        # \r ends a line too: the progress line is redrawn with \r, and PortAudio prints right after it.
        parts = re.split(rb"(?<=[\r\n])", data)
        pending = parts.pop()
        passed = []
        for line in parts:
            at = _noise_at(line)
            if at >= 0:
                log.debug("%s%s", _LOGGED.decode(), line[at:].decode(errors="replace").strip())
                line = line[:at]
            passed.append(line)
        at = _noise_at(pending)
        if _LOGGED in pending:  # our own line, torn: the rest of it must not be taken for noise
            pass
        elif at < 0:  # no noise yet: pass all but a tail that may be the start of some
            keep = _maybe_noise_tail(pending)
            passed.append(pending[: len(pending) - keep])
            pending = pending[len(pending) - keep :]
        else:
            passed.append(pending[:at])
            pending = pending[at:]
        out = b"".join(passed)
        if out:
            os.write(out_fd, out)
        return pending


def _noise_at(line: bytes) -> int:
    """Where PortAudio/ALSA noise starts in ``line`` (-1: nowhere)."""
    if _LOGGED in line:
        return -1
    hits = [i for i in (line.find(n) for n in _NOISE) if i >= 0]
    return min(hits) if hits else -1


def _maybe_noise_tail(data: bytes) -> int:
    """Length of the longest tail of ``data`` that begins some noise marker."""
    for k in range(min(len(data), max(map(len, _NOISE))), 0, -1):
        if any(n.startswith(data[-k:]) for n in _NOISE):
            return k
    return 0


_FILTER = _StderrFilter()


@contextlib.contextmanager
def _environment(extra: dict[str, str]):
    """Set variables (PULSE_SOURCE) that the ALSA pulse plugin reads when a stream opens."""
    if not extra:
        yield
        return
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in extra}
        os.environ.update(extra)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class PortAudio:
    """A PyAudio instance plus the device catalog (controller thread)."""

    def __init__(self, pyaudio_module=None):
        self._pa_mod = pyaudio_module
        self._pa = None

    @property
    def module(self):
        if self._pa_mod is None:
            self._pa_mod = load_pyaudio()
        return self._pa_mod

    def instance(self):
        if self._pa is None:
            with _quiet_stderr():
                try:
                    self._pa = self.module.PyAudio()
                except Exception as exc:
                    raise CaptureError(f"PortAudio failed to start: {exc}") from None
        return self._pa

    def refresh(self) -> None:
        """Forget the device list (it is fixed when PortAudio starts)."""
        if self._pa is not None:
            with _quiet_stderr():
                self._pa.terminate()
            self._pa = None

    def close(self) -> None:
        self.refresh()

    def _info(self, raw: dict) -> DeviceInfo:
        pa = self.instance()
        try:
            api = pa.get_host_api_info_by_index(raw["hostApi"])["name"]
        except Exception:
            api = ""
        return DeviceInfo(
            index=int(raw["index"]),
            name=str(raw["name"]),
            max_input_channels=int(raw["maxInputChannels"]),
            default_rate=int(raw["defaultSampleRate"]),
            host_api=api,
            is_loopback=bool(raw.get("isLoopbackDevice", False)),
        )

    def devices(self) -> list[DeviceInfo]:
        pa = self.instance()
        out = []
        for i in range(pa.get_device_count()):
            raw = pa.get_device_info_by_index(i)
            if int(raw.get("maxInputChannels", 0)) > 0:
                out.append(self._info(raw))
        return out

    def default_wasapi_loopback(self) -> DeviceInfo | None:
        pa = self.instance()
        getter = getattr(pa, "get_default_wasapi_loopback", None)
        if getter is None:
            return None
        try:
            return self._info(getter())
        except (OSError, LookupError) as exc:
            log.info("no default WASAPI loopback device: %s", exc)
            return None

    def open_source(self, plan: CapturePlan, blocksize: int | None = None, owns_backend: bool = False) -> PortAudioSource:
        """A source for ``plan``; with ``owns_backend`` stopping it also shuts this PortAudio down."""
        return PortAudioSource(self, plan, blocksize, owns_backend)


class PortAudioSource:
    """A PortAudio input stream in callback mode, implementing CaptureSource."""

    def __init__(self, backend: PortAudio, plan: CapturePlan, blocksize: int | None = None, owns_backend: bool = False):
        self._backend = backend
        self._owns_backend = owns_backend
        self.plan = plan
        self.format: AudioFormat = plan.format
        self.description = plan.description
        self.blocksize = blocksize or max(256, plan.format.rate // 25)  # 40 ms
        self._stream = None
        self._sink: BlockSink | None = None
        self._lock = threading.Lock()  # stop() may come from the recorder and the controller at once
        self._stopping = False
        self._last_block: float | None = None  # arrival of the newest block (written by the callback only)

    def _callback(self, in_data, frame_count, time_info, status):
        # PortAudio thread: O(1) only.
        sink = self._sink
        if sink is not None and in_data:
            now = time.monotonic()
            self._last_block = now
            sink(Block(in_data, frame_count, now, bool(status & self._overflow_flag)))
        return (None, self._continue)

    def _stalled(self) -> bool:
        """True when no block came for two block periods (or none yet): the driver thread is waiting for data."""
        last = self._last_block
        return last is None or time.monotonic() - last > 2 * self.blocksize / self.format.rate

    def start(self, sink: BlockSink) -> None:
        mod = self._backend.module
        self._overflow_flag = getattr(mod, "paInputOverflow", 2)
        self._continue = mod.paContinue
        fmt = {2: mod.paInt16, 3: mod.paInt24}[self.format.sample_width]
        pa = self._backend.instance()
        self._stopping = False
        self._last_block = None
        self._sink = sink
        try:
            with _environment(self.plan.env), _quiet_stderr():
                self._stream = pa.open(
                    format=fmt,
                    channels=self.format.channels,
                    rate=self.format.rate,
                    input=True,
                    input_device_index=self.plan.device_index,
                    frames_per_buffer=self.blocksize,
                    stream_callback=self._callback,
                    start=True,
                )
        except Exception as exc:
            self.stop()
            raise CaptureError(
                f"cannot open {self.description} at {self.format.describe()}: {exc}; "
                "try another --rate, or see 'trayrip devices'"
            ) from None
        _FILTER.install()
        self._filtering = True

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            stream, self._stream = self._stream, None
            try:
                if stream is not None:
                    with _quiet_stderr():
                        # Pa_StopStream waits for the driver thread to deliver its next block; on an
                        # idle monitor that wait is 0.8-2 s (it held the next hotkey press in the
                        # controller's queue). With nothing flowing there is nothing to wait for:
                        # closing a running stream aborts it (Pa_CloseStream; PyAudio's Stream has
                        # no abort method).
                        if not self._stalled():
                            stream.stop_stream()
                        stream.close()
            finally:
                self._sink = None
                if getattr(self, "_filtering", False):
                    self._filtering = False
                    _FILTER.remove()
                if self._owns_backend:
                    # A fresh PortAudio per recording also sees devices (and a sound server) that came back.
                    self._backend.close()

    def error(self) -> str | None:
        with self._lock:
            stream = self._stream
            if stream is None or self._stopping:
                return None
            try:
                active = stream.is_active()
            except Exception as exc:
                return f"the capture stream from {self.description} failed: {exc}"
        if not active:
            return f"the capture stream from {self.description} stopped (device or sound server lost)"
        return None
