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
from .errors import BadArgument, CaptureError, FilingError, TrayripError
from .filing.encoders import format_for_path, get_format, warn_if_unusable, warn_once
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
from .filing.recent import note_filed
from .playertracks import TRACK_TEMPLATE, TrackFollower
from .recording.recorder import Recorder, RecorderStatus, RecordingResult
from .recording.silence import SilenceSettings, SilenceTracker, no_sound_text
from .recording.writer import WavWriter
from .wav.format import AudioFormat

__all__ = ["RecordingOptions", "Recording", "RecordingFailed", "SavedAudio", "record", "open_default_source"]

log = logging.getLogger(__name__)


_DURATION_GRACE = 5.0  # seconds of wall time past --duration before we stop waiting for audio
_QUIET_CHECK = 1.0  # seconds between checks of a recording nobody watches (no progress display)


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
    tracks: bool = False  # split and name at the media player's track changes (MPRIS)
    app: str | None = None  # record only the applications whose name or binary contains this (and follow its player)
    muted: bool = False  # with app: the application is recorded but not heard while recording
    keep_partial: bool = True  # with tracks: file tracks joined mid-way or left early, marked "(partial)"
    track_template: str | None = None  # with tracks: track names (default "{track:02} {artist} - {title}")
    remote_art: bool = False  # with tracks: fetch http(s) cover art (off: only local file:// art is used)
    wait_for_sound: bool = False  # stream open, nothing written until the level passes the threshold
    stop_on_silence: float = 0.0  # seconds of continuous silence after which the recording ends; 0 = never
    replaygain: bool = True  # measure loudness while recording and write ReplayGain tags
    normalize: str | None = None  # "track" / "album": apply the gain when filing (peaks kept <= -1 dBFS)
    skip_ads: bool = True  # with tracks: leave out what the player marks as ads (nowplaying/ads.py)
    duplicates: str = "keep-both"  # with tracks: keep-both, skip or keep-longer a track already in the folder

    def __post_init__(self) -> None:
        if self.bits not in (16, 24):
            raise BadArgument(f"bits must be 16 or 24, not {self.bits}")
        if self.rate is not None and not 1000 <= int(self.rate) <= 768000:
            raise BadArgument(f"rate {self.rate} Hz is out of range (1000-768000)")
        if self.folder is not None and self.output is not None:
            raise BadArgument("give either folder or output, not both")
        if self.normalize not in (None, "track", "album"):
            raise BadArgument(f"normalize must be track or album, not {self.normalize!r}")
        if self.muted and not self.app:
            raise BadArgument("muted needs an application to record (app / --app)")
        if self.duplicates not in ("keep-both", "skip", "keep-longer"):
            raise BadArgument(f"duplicates must be keep-both, skip or keep-longer, not {self.duplicates!r}")
        if not 0 <= self.stop_on_silence < float("inf"):
            raise BadArgument(f"stop_on_silence must be 0 (off) or positive seconds, not {self.stop_on_silence}")


def open_default_source(options: RecordingOptions, backend=None) -> CaptureSource:
    """Find the loopback device (or ``options.device``) and prepare a source:
    native PipeWire when the server is PipeWire, else PortAudio. Without a
    device, on Linux, the source follows the default output (``capture/follow.py``)."""
    from .capture.discovery import is_pipewire, plan_capture, plan_pipewire
    from .capture.follow import FollowDefault, monitor_opener, once
    from .capture.pulse import query as default_pulse_query

    if options.app:
        return open_app_source(options)
    query = once(default_pulse_query)  # one question to the server per start, however many plans ask
    native = plan_pipewire(device=options.device, rate=options.rate, bits=options.bits, pulse_query=query)
    if native is not None:
        from .capture.pipewire import PipeWireSource

        if options.device is None and native.target.pulse_source:
            # WirePlumber moves the stream to a new default by itself: only the switch is logged.
            return FollowDefault(lambda _monitor: PipeWireSource(native.format, native.target, tool=native.tool),
                                 native.target.pulse_source, reopen=False)
        return PipeWireSource(native.format, native.target, tool=native.tool)
    from .capture.portaudio import PortAudio

    owns = backend is None
    backend = backend or PortAudio()
    try:
        plan = plan_capture(backend, device=options.device, rate=options.rate, bits=options.bits, pulse_query=query)
    except BaseException:
        if owns:
            backend.close()
        raise
    monitor = plan.env.get("PULSE_SOURCE")
    if options.device is None and monitor:
        return FollowDefault(monitor_opener(backend, plan), monitor, reopen=not is_pipewire(query()),
                             on_close=backend.close if owns else None)
    return backend.open_source(plan, owns_backend=owns)


def open_app_source(options: RecordingOptions) -> CaptureSource:
    """A source recording only the applications matching ``options.app`` (Linux)."""
    import sys

    from .capture.routing import AppRoute, AppSource, is_pipewire, unsupported_message

    if not sys.platform.startswith("linux"):  # before the Linux-only imports: the message, not an ImportError
        raise CaptureError(unsupported_message(sys.platform))
    from .capture.base import AudioFormat
    from .capture.pipewire import PipeWireSource, PipeWireTarget
    from .capture.discovery import app_recorder_tool
    if options.device is not None:
        raise CaptureError("give either --app or --device, not both")
    fmt = AudioFormat(int(options.rate or 48000), 2, options.bits // 8)
    pipewire = is_pipewire()
    route = AppRoute(options.app, pipewire=pipewire, rate=fmt.rate, channels=fmt.channels, muted=options.muted)
    tool = app_recorder_tool(pipewire)
    label = f"application {options.app!r}"

    def make_source(monitor: str) -> PipeWireSource:
        # pw-record records the private sink natively; parec (PulseAudio) by its monitor's Pulse name.
        target = (PipeWireTarget(route.sink, True, label, monitor) if tool == "pw-record"
                  else PipeWireTarget(None, False, label, monitor))
        return PipeWireSource(fmt, target, tool=tool, node_name="trayrip-app-capture")

    return AppSource(route, make_source, wait=options.wait_for_sound)  # Arm waits for the application


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
        self.on_event: Callable[[str], None] | None = None  # "sound" / "silence", from the recorder thread
        self.started_at: float | None = None
        self.start_phases: dict[str, float] = {}  # seconds spent in each step of start()
        self.result: RecordingResult | None = None
        self.filed: FiledRecording | None = None
        self._follower: TrackFollower | None = None

    # -- lifecycle -------------------------------------------------------
    def _target(self) -> tuple[Path, Path | None]:
        out = self.options.output
        if out is not None:
            out = Path(out).expanduser()
            if out.exists():
                raise FilingError(f"{out} already exists; not overwriting it")
            if format_for_path(out) is None:
                raise FilingError(f"{out.name}: unknown audio type; use .wav, .flac, .mp3, .ogg or .opus")
            if self.options.split or self.options.tracks:
                raise FilingError("splitting files a folder of tracks: give a folder, not an output file")
            return prepare_folder(out.parent), out
        return prepare_folder(Path(self.options.folder).expanduser() if self.options.folder else default_folder()), None

    def _check_filing_options(self) -> None:
        """Refuse a bad template or format before recording; warn now if the format will fall back to WAV."""
        try:
            get_format(self.options.format)
            validate_template(self.options.template or DEFAULT_TEMPLATE)
            validate_template(self.options.track_template or TRACK_TEMPLATE)
        except ValueError as exc:
            raise FilingError(str(exc)) from None
        by_suffix = format_for_path(self.options.output) if self.options.output is not None else None
        warn_if_unusable(by_suffix.name if by_suffix is not None else self.options.format)

    def _filing_plan(self) -> FilingPlan:
        o = self.options
        return FilingPlan(
            format=o.format, template=o.template or DEFAULT_TEMPLATE, title=o.title, split=o.split,
            min_track=o.min_track, trim=o.trim, silence=o.silence, track_template=o.track_template or TRACK_TEMPLATE,
            replaygain=o.replaygain, normalize=o.normalize,
        )

    def start(self, max_seconds: float | None = None) -> Recording:
        """Open the stream and begin writing; raises TrayripError with a user-facing message.

        With ``max_seconds`` the recorder stops by itself after exactly that much audio.
        """
        if self._recorder is not None:
            raise TrayripError("this recording was already started")
        t0 = time.monotonic()
        self._check_filing_options()
        folder, _ = self._target()
        t1 = time.monotonic()
        source = self._source or self._source_factory(self.options)
        t2 = time.monotonic()
        limit = None if max_seconds is None else max(1, round(max_seconds * source.format.rate))
        recorder = Recorder(
            source, new_part_path(folder), self.options.silence, max_frames=limit,
            wait_for_sound=self.options.wait_for_sound, stop_on_silence=self.options.stop_on_silence,
            on_event=self._recorder_event, loudness=self.options.replaygain,
        )
        if self.options.tracks and self._follower is None:
            # Before the stream opens, so the track already playing is known when the first audio comes.
            self._follower = TrackFollower(app=self.options.app, remote_art=self.options.remote_art)
            self._follower.start()
        try:
            recorder.start()
        except BaseException:
            if self._source is None:
                source.stop()  # frees the PortAudio instance the factory made for it
            if self._follower is not None:
                self._follower.stop()
            raise
        t3 = time.monotonic()
        # where a slow start went (logged by the tray, summed up by bench/bench_tray_cpu.py)
        self.start_phases = {"folder": t1 - t0, "source": t2 - t1, "stream": t3 - t2}
        self._recorder = recorder
        self.started_at = time.time()
        self._stem = timestamp_stem()
        return self

    def use_source(self, source: CaptureSource) -> None:
        """Record from ``source`` (e.g. a pre-roll tap) instead of opening one; before :meth:`start`."""
        self._source = source

    def _recorder_event(self, kind: str) -> None:  # recorder thread: O(1)
        if kind == "sound" and self.started_at is not None:
            self.started_at = time.time()  # the file is named after when the sound began
        callback = self.on_event
        if callback is not None:
            callback(kind)

    @property
    def now_playing(self) -> str:
        """With ``tracks``: the player's current track in words, else "" (any thread)."""
        return self._follower.now_playing if self._follower is not None else ""

    @property
    def waiting(self) -> bool:
        """Armed and still waiting for sound (nothing written yet)."""
        return self._recorder is not None and not self._recorder.triggered.is_set()

    @property
    def silence_reached(self) -> bool:
        """The stop-on-silence time has passed since the sound stopped."""
        return self._recorder is not None and self._recorder.silence_reached.is_set()

    def discard(self) -> None:
        """Stop and throw away what was captured (an armed recording that never heard sound)."""
        result = self.stop_capture()
        result.part.unlink(missing_ok=True)
        assert self._recorder is not None
        self._recorder.release()
        self.filed = None

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

    def stop_stream(self) -> float:
        """Stop the capture stream now; the seconds written so far. What it delivered is written, and the file
        closed, by :meth:`stop_capture` (or :meth:`finish`) later, on any thread: a start that comes
        meanwhile (the tray's next press on a pre-roll stream) need not wait for the disk."""
        if self._recorder is None:
            raise TrayripError("this recording was never started")
        self._recorder.stop_source()
        return self._recorder.status().elapsed

    def stop_capture(self) -> RecordingResult:
        """Stop the stream and close the capture file (fast; nothing is read back)."""
        if self._recorder is None:
            raise TrayripError("this recording was never started")
        if self.result is None:
            self.result = self._recorder.stop()
            if self._follower is not None:
                self._follower.stop()
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
            self._release()

    def _release(self) -> None:
        assert self._recorder is not None
        self._recorder.release()

    def _file(self, result: RecordingResult) -> FiledRecording:
        if result.frames == 0:
            result.part.unlink(missing_ok=True)
            raise CaptureError(result.error or "nothing was captured: the loopback source delivered no audio")
        keep = result.trim_range if self.options.trim else None
        silent = None
        if result.trim_range is None:  # never dropped (it is the user's recording), but said plainly
            silent = no_sound_text(result.peak_db, self.options.silence.threshold_db)
        _, output = self._target() if self.options.output else (None, None)
        when = datetime.datetime.fromtimestamp(self.started_at) if self.started_at else None
        if self._follower is not None and output is None:
            self.filed = self._follower.file(result, self._filing_plan(), keep=keep, when=when,
                                             device=self.description, keep_partial=self.options.keep_partial,
                                             skip_ads=self.options.skip_ads, duplicates=self.options.duplicates)
        if self.filed is None:
            self.filed = file_recording(
                result.part, keep=keep, regions=result.regions, plan=self._filing_plan(),
                folder=result.part.parent, output=output, when=when, device=self.description,
                loudness=result.loudness,
            )
        note_filed(self.filed.paths)  # "Recent recordings", whoever filed it
        if silent is not None:
            self.filed = replace(self.filed, silent=silent)
            log.warning("the recording is %s: was anything playing, or is the output muted? Kept untrimmed", silent)
        if self.filed.note:
            warn_once(self.filed.note)
        if self.filed.left_out:
            log.warning("%s", self.filed.left_out)
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


class SavedAudio(Recording):
    """Audio already in memory -- the pre-roll buffer -- filed like a finished recording.

    :meth:`stop_capture` writes the capture file and :meth:`finish` trims and
    files it, both on the caller's thread (the tray's filer).
    """

    def __init__(self, data: bytes | bytearray, fmt: AudioFormat, options: RecordingOptions | None = None, *,
                 description: str = "", when: float | None = None):
        super().__init__(options)
        bpf = fmt.bytes_per_frame
        self._data = memoryview(data)[: len(data) - len(data) % bpf]
        self._fmt = fmt
        self._description = description
        frames = len(self._data) // bpf
        self.started_at = (when if when is not None else time.time()) - frames / fmt.rate
        self._writer: WavWriter | None = None

    @property
    def description(self) -> str:
        return self._description

    @property
    def format(self):
        return self._fmt

    @property
    def failed(self) -> str | None:
        return None

    def start(self, max_seconds: float | None = None) -> Recording:
        raise TrayripError("saved audio is not started; file it with stop()")

    def stop_capture(self) -> RecordingResult:
        if self.result is None:
            folder, _ = self._target()
            writer = WavWriter(new_part_path(folder), self._fmt)
            try:
                writer.write(self._data)
                writer.close(keep_lock=True)
            except BaseException:
                writer.abort()
                raise
            self._writer = writer
            tracker = SilenceTracker(self._fmt.rate, self._fmt.channels, self._fmt.sample_width, self.options.silence)
            tracker.feed(self._data)
            loudness = None
            if self.options.replaygain:
                from .recording.loudness import LoudnessMeter

                meter = LoudnessMeter(self._fmt.rate, self._fmt.channels, self._fmt.sample_width)
                meter.feed(self._data)
                loudness = meter.result()
            self.result = RecordingResult(
                part=writer.path, format=self._fmt, frames=writer.frames, trim_range=tracker.trim_range(),
                regions=tracker.regions, overflows=0, dropped_frames=0, filled_frames=0, peak_db=tracker.peak_db,
                loudness=loudness,
            )
            self._data = memoryview(b"")
        return self.result

    def _release(self) -> None:
        if self._writer is not None:
            self._writer.release()


def record(
    duration: float | None = None,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[RecorderStatus], None] | None = None,
    progress_interval: float = 0.25,
    source: CaptureSource | None = None,
    on_start: Callable[[Recording], None] | None = None,
    **options,
) -> Path:
    """Record what the computer plays for ``duration`` seconds (or until ``stop`` is set).

    Keyword options are those of :class:`RecordingOptions` (folder, output,
    device, rate, bits, trim, silence, format, template, title, split,
    min_track, tracks, app, keep_partial, track_template, remote_art, wait_for_sound,
    stop_on_silence). With ``wait_for_sound`` the duration counts from the lead-in before
    the sound. ``on_start(recording)`` is called once the capture runs (its ``description``
    says what it records), never before an error. Returns the filed path (for a split recording, its folder); raises
    CaptureError if nothing was heard.
    """
    if duration is None and stop is None:
        raise BadArgument("give a duration, a stop event, or both")
    if duration is not None and not duration > 0:
        raise BadArgument(f"duration must be a positive number of seconds, not {duration}")
    rec = Recording(source=source, **options)
    # Stop on silence wakes this loop at once (the recorder sets ``ended``); it is checked between waits.
    ended = threading.Event()
    rec.on_event = lambda kind: ended.set() if kind == "silence" else None
    rec.start(max_seconds=duration)
    if on_start is not None:
        on_start(rec)
    stop = stop or threading.Event()
    # A loopback source may deliver nothing while nothing plays: the length is then reached by the clock.
    deadline = None

    def wait(timeout: float) -> bool:
        """True once the caller asked to stop."""
        if not rec.options.stop_on_silence:
            return stop.wait(timeout)
        ended.wait(min(timeout, 0.05))
        return stop.is_set()

    next_progress = 0.0
    # Without a progress display or a length this thread only watches for a stop: a wake-up a second
    # is enough (`stop` wakes it at once; a recording that fails on its own is noticed within the second).
    interval = progress_interval if on_progress is not None or duration is not None else _QUIET_CHECK
    try:
        while not rec.wait_done(0) and not rec.silence_reached:
            now = time.monotonic()
            if on_progress is not None and now >= next_progress:
                on_progress(rec.status())
                next_progress = now + progress_interval
            if deadline is None and duration is not None and not rec.waiting:
                deadline = now + duration + _DURATION_GRACE
            if wait(interval) or (deadline is not None and time.monotonic() >= deadline):
                break
        if on_progress is not None:
            on_progress(rec.status())
    finally:
        rec.stop_capture()
    if rec.waiting and not rec.failed:
        rec.discard()
        raise CaptureError(
            f"no sound above {rec.options.silence.threshold_db:g} dBFS came while waiting; nothing was recorded"
        )
    return rec.finish().path
