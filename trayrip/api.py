"""The Python API: one engine for the CLI, the tray and scripts.

>>> import trayrip
>>> path = trayrip.record(duration=10)                     # doctest: +SKIP
>>> with trayrip.Recording(folder="~/clips") as rec:       # doctest: +SKIP
...     input("Enter stops")
>>> rec.filed.path                                         # doctest: +SKIP

Threads: ``start``/``stop`` run on the caller's thread; capture and disk
writes run on the recorder's own thread.
"""
from __future__ import annotations

import datetime
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from .capture.base import CaptureSource
from .errors import CaptureError, FilingError, TrayripError
from .filing.encoders import format_for_path, get_format, warn_if_unusable
from .filing.finish import (
    FiledRecording,
    FilingPlan,
    default_folder,
    file_recording,
    new_part_path,
    prepare_folder,
    timestamp_stem,
)
from .filing.naming import DEFAULT_TEMPLATE, validate_template
from .recording.recorder import Recorder, RecorderStatus, RecordingResult
from .recording.silence import SilenceSettings

__all__ = ["RecordingOptions", "Recording", "RecordingFailed", "record", "open_default_source"]

log = logging.getLogger(__name__)


_DURATION_GRACE = 5.0  # seconds of wall time past --duration before we stop waiting for audio


class RecordingFailed(CaptureError):
    """The stream died mid-recording; what was captured was filed as ``filed``."""

    def __init__(self, message: str, filed: FiledRecording | None):
        super().__init__(message)
        self.filed = filed


@dataclass(frozen=True)
class RecordingOptions:
    """How to record and where to file. ``None`` means the default."""

    folder: Path | None = None
    output: Path | None = None
    device: str | int | None = None
    rate: int | None = None
    bits: int = 16
    trim: bool = True
    silence: SilenceSettings = field(default_factory=SilenceSettings)
    format: str = "wav"  # wav, flac, mp3, ogg, opus (filing encodes; capture is always WAV)
    template: str | None = None  # file name template; None = date and time
    title: str | None = None  # for the {title} template field and tags
    split: bool = False  # split into tracks at silences of at least silence.region_gap seconds
    min_track: float = 30.0  # pieces shorter than this are merged into a neighbour, not filed alone
    app: str | None = None  # record only the applications whose name or binary contains this

    def __post_init__(self) -> None:
        if self.bits not in (16, 24):
            raise ValueError(f"bits must be 16 or 24, not {self.bits}")
        if self.rate is not None and not 1000 <= int(self.rate) <= 768000:
            raise ValueError(f"rate {self.rate} Hz is out of range (1000-768000)")
        if self.folder is not None and self.output is not None:
            raise ValueError("give either folder or output, not both")


def open_default_source(options: RecordingOptions, backend=None) -> CaptureSource:
    """Find the loopback device (or ``options.device``) and prepare a source:
    native PipeWire when the server is PipeWire, else PortAudio."""
    from .capture.discovery import plan_capture, plan_pipewire

    if options.app:
        return open_app_source(options)
    native = plan_pipewire(device=options.device, rate=options.rate, bits=options.bits)
    if native is not None:
        from .capture.pipewire import PipeWireSource

        return PipeWireSource(native.format, native.target, tool=native.tool)
    from .capture.portaudio import PortAudio

    owns = backend is None
    backend = backend or PortAudio()
    try:
        plan = plan_capture(backend, device=options.device, rate=options.rate, bits=options.bits)
    except BaseException:
        if owns:
            backend.close()
        raise
    return backend.open_source(plan, owns_backend=owns)


def open_app_source(options: RecordingOptions) -> CaptureSource:
    """A source recording only the applications matching ``options.app`` (Linux)."""
    import sys

    from .capture.base import AudioFormat
    from .capture.pipewire import PipeWireSource, PipeWireTarget
    from .capture.routing import AppRoute, AppSource, unsupported_message

    if not sys.platform.startswith("linux"):
        raise CaptureError(unsupported_message(sys.platform))
    if options.device is not None:
        raise CaptureError("give either --app or --device, not both")
    fmt = AudioFormat(int(options.rate or 48000), 2, options.bits // 8)
    route = AppRoute(options.app, rate=fmt.rate, channels=fmt.channels)
    return AppSource(route, lambda monitor: PipeWireSource(
        fmt, PipeWireTarget(None, False, f"application {options.app!r}", monitor), tool="parec",
        node_name="trayrip-app-capture"))


class Recording:
    """Start/stop object around one recording.

    ``source`` may be any CaptureSource (tests pass a FakeSource); by default
    the loopback device is found when :meth:`start` is called.
    """

    def __init__(
        self,
        options: RecordingOptions | None = None,
        *,
        source: CaptureSource | None = None,
        source_factory: Callable[[RecordingOptions], CaptureSource] | None = None,
        **overrides,
    ):
        options = options or RecordingOptions()
        if overrides:
            for key in ("folder", "output"):
                if overrides.get(key) is not None:
                    overrides[key] = Path(overrides[key]).expanduser()
            options = replace(options, **overrides)
        self.options = options
        self._source = source
        self._source_factory = source_factory or open_default_source
        self._recorder: Recorder | None = None
        self.started_at: float | None = None
        self.result: RecordingResult | None = None
        self.filed: FiledRecording | None = None

    # -- lifecycle -------------------------------------------------------
    def _target(self) -> tuple[Path, Path | None]:
        out = self.options.output
        if out is not None:
            out = Path(out).expanduser()
            if out.exists():
                raise FilingError(f"{out} already exists; not overwriting it")
            if format_for_path(out) is None:
                raise FilingError(f"{out.name}: unknown audio type; use .wav, .flac, .mp3, .ogg or .opus")
            if self.options.split:
                raise FilingError("splitting files a folder of tracks: give a folder, not an output file")
            return prepare_folder(out.parent), out
        return prepare_folder(Path(self.options.folder).expanduser() if self.options.folder else default_folder()), None

    def _check_filing_options(self) -> None:
        """Refuse a bad template or format before recording; warn now if the format will fall back to WAV."""
        try:
            get_format(self.options.format)
            validate_template(self.options.template or DEFAULT_TEMPLATE)
        except ValueError as exc:
            raise FilingError(str(exc)) from None
        by_suffix = format_for_path(self.options.output) if self.options.output is not None else None
        warn_if_unusable(by_suffix.name if by_suffix is not None else self.options.format)

    def _filing_plan(self) -> FilingPlan:
        o = self.options
        return FilingPlan(
            format=o.format, template=o.template or DEFAULT_TEMPLATE, title=o.title, split=o.split,
            min_track=o.min_track, trim=o.trim, silence=o.silence,
        )

    def start(self, max_seconds: float | None = None) -> Recording:
        """Open the stream and begin writing; raises TrayripError with a user-facing message.

        With ``max_seconds`` the recorder stops by itself after exactly that much audio.
        """
        if self._recorder is not None:
            raise TrayripError("this recording was already started")
        self._check_filing_options()
        folder, _ = self._target()
        source = self._source or self._source_factory(self.options)
        limit = None if max_seconds is None else max(1, round(max_seconds * source.format.rate))
        recorder = Recorder(source, new_part_path(folder), self.options.silence, max_frames=limit)
        try:
            recorder.start()
        except BaseException:
            if self._source is None:
                source.stop()  # frees the PortAudio instance the factory made for it
            raise
        self._recorder = recorder
        self.started_at = time.time()
        self._stem = timestamp_stem()
        return self

    @property
    def format(self):
        return self._recorder.format if self._recorder else None

    @property
    def description(self) -> str:
        return self._recorder.source.description if self._recorder else ""

    @property
    def running(self) -> bool:
        return self._recorder is not None and self.result is None

    @property
    def failed(self) -> str | None:
        return self._recorder.failed if self._recorder else None

    def status(self) -> RecorderStatus:
        if self._recorder is None:
            return RecorderStatus(0.0, float("-inf"), 0, 0, 0)
        return self._recorder.status()

    def wait_done(self, timeout: float) -> bool:
        """Block up to ``timeout`` s; True once the recorder stopped on its own (length reached or stream lost)."""
        return self._recorder is not None and self._recorder.done.wait(timeout)

    def stop_capture(self) -> RecordingResult:
        """Stop the stream and close the capture file (fast; nothing is read back)."""
        if self._recorder is None:
            raise TrayripError("this recording was never started")
        if self.result is None:
            self.result = self._recorder.stop()
        return self.result

    def finish(self) -> FiledRecording:
        """Trim and file the closed capture file. Raises RecordingFailed if the stream had died."""
        result = self.stop_capture()
        if self.filed is not None:
            return self.filed
        try:
            return self._file(result)
        finally:
            # Until filed the capture file stays locked, so no recovery elsewhere takes it.
            assert self._recorder is not None
            self._recorder.release()

    def _file(self, result: RecordingResult) -> FiledRecording:
        if result.frames == 0:
            result.part.unlink(missing_ok=True)
            raise CaptureError(result.error or "nothing was captured: the loopback source delivered no audio")
        keep = None
        if self.options.trim:
            keep = result.trim_range
            if keep is None:
                log.warning(
                    "nothing above %.0f dBFS in %.1f s; keeping the recording untrimmed",
                    self.options.silence.threshold_db,
                    result.duration,
                )
        _, output = self._target() if self.options.output else (None, None)
        when = datetime.datetime.fromtimestamp(self.started_at) if self.started_at else None
        self.filed = file_recording(
            result.part, keep=keep, regions=result.regions, plan=self._filing_plan(),
            folder=result.part.parent, output=output, when=when, device=self.description,
        )
        if self.filed.note:
            log.warning("%s", self.filed.note)
        if result.error:
            raise RecordingFailed(f"{result.error}; the audio captured so far was saved as {self.filed.path}", self.filed)
        return self.filed

    def stop(self) -> FiledRecording:
        """Stop and file; returns where the recording went."""
        self.stop_capture()
        return self.finish()

    def __enter__(self) -> Recording:
        return self.start()

    def __exit__(self, *exc) -> None:
        if self.running:
            self.stop()


def record(
    duration: float | None = None,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[RecorderStatus], None] | None = None,
    progress_interval: float = 0.25,
    source: CaptureSource | None = None,
    **options,
) -> Path:
    """Record what the computer plays for ``duration`` seconds (or until ``stop`` is set).

    Keyword options are those of :class:`RecordingOptions` (folder, output,
    device, rate, bits, trim, silence, format, template, title, split,
    min_track). Returns the filed path (for a split recording, its folder).
    """
    if duration is None and stop is None:
        raise ValueError("give a duration, a stop event, or both")
    if duration is not None and duration <= 0:
        raise ValueError("duration must be positive")
    rec = Recording(source=source, **options)
    rec.start(max_seconds=duration)
    stop = stop or threading.Event()
    # A loopback source may deliver nothing while nothing plays: the length is then reached by the clock.
    deadline = None if duration is None else time.monotonic() + duration + _DURATION_GRACE
    try:
        while not rec.wait_done(0):
            if on_progress is not None:
                on_progress(rec.status())
            if stop.wait(progress_interval) or (deadline is not None and time.monotonic() >= deadline):
                break
        if on_progress is not None:
            on_progress(rec.status())
    finally:
        rec.stop_capture()
    return rec.finish().path
