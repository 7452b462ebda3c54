"""The controller: one thread owns the tray app's state; everything else submits commands.

Threads:

* ``trayrip-controller`` (:meth:`Controller.start`) is the only code that
  changes state. It blocks on its command queue -- with no timeout while
  idle, so an idle app costs nothing -- and, only while recording, wakes
  every ``tick`` seconds (0.25 s) to publish the level and elapsed time and to
  notice a capture stream that died on its own.
* ``trayrip-filer`` runs finishing jobs (trim, encode, move) one after the
  other, so a new recording can start while the previous one is filed.
* Anyone (hotkey hook, menu, second instance, filer) calls :meth:`submit`,
  which only puts a command on the queue.
* Subscribers get an immutable :class:`Snapshot` on the controller thread
  and must only hand it over (e.g. into a one-slot mailbox).

State changes go through :func:`trayrip.desktop.state.step` (the one transition
table); this module performs the actions it returns. The recording factory,
notifier, opener, clock and filer mode are injected, so tests drive the
controller synchronously with fakes (:meth:`run_pending`).
"""
from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol

from ..capture.routing import NoMatchingApp
from ..config import Config, ConfigError, ConfigStore, updated
from ..errors import TrayripError
from ..filing.recent import AUDIO_SUFFIXES, read_recent
from . import capture_plan
from .choices import DeviceChoice, list_apps, list_devices  # noqa: F401 (their old home)
from .saved_text import saved_body
from .schedule_runner import ScheduleRunner
from .server_loss import ServerLoss, plain_words
from .state import Action, Event, Machine, State, step
from .stopping import stop_stream

__all__ = [
    "Cmd",
    "DeviceChoice",
    "Snapshot",
    "Controller",
    "Filer",
    "WarmRecordings",
    "list_devices",
    "list_apps",
    "AUDIO_SUFFIXES",
]

log = logging.getLogger(__name__)

RECENT_LIMIT = 10


class Cmd(enum.Enum):
    """Commands on the controller's queue (payload in brackets)."""

    TOGGLE = "toggle"
    START = "start"
    STOP = "stop"
    DISMISS = "dismiss"
    QUIT = "quit"
    SET = "set"  # (key, value): change one setting
    RELOAD_CONFIG = "reload_config"
    EDIT_CONFIG = "edit_config"  # write defaults if there is no file, then open it
    OPEN_FOLDER = "open_folder"
    REFRESH_DEVICES = "refresh_devices"
    DEVICES = "devices"  # (tuple[DeviceChoice, ...] | str): a device scan's result
    APPS = "apps"  # (scan number, tuple[str, ...]): the applications playing, for "Record from"
    REFRESH_APPS = "refresh_apps"  # the playing streams changed (the stream watcher): scan the applications again
    HOTKEY_STATUS = "hotkey_status"  # (str | None) or a function to run here returning (problem, key the desktop bound)
    FILED = "filed"  # (job, filed, note)
    DISCARDED = "discarded"  # (job, reason)
    FILING_FAILED = "filing_failed"  # (job, message)
    ARM = "arm"  # wait for sound, or stop waiting
    SOUND = "sound"  # (recording): the armed recorder heard sound
    SILENCE = "silence"  # (recording): stop on silence reached
    SAVE_PREROLL = "save_preroll"  # file the pre-roll buffer
    PREROLL_LOST = "preroll_lost"  # (message): the idle pre-roll stream died
    SCHEDULES = "schedules"  # (None: reload the file | ("remove", id) | ("enable", id, bool))
    RECENT = "recent"  # the journal of filed recordings changed (another process filed): read it again


_STATE_COMMANDS = {
    Cmd.TOGGLE: Event.TOGGLE,
    Cmd.START: Event.START,
    Cmd.STOP: Event.STOP,
    Cmd.DISMISS: Event.DISMISS,
    Cmd.QUIT: Event.QUIT,
    Cmd.ARM: Event.ARM,
    Cmd.SAVE_PREROLL: Event.SAVE_PREROLL,
}
_RECORDER_EVENTS = {Cmd.SOUND: Event.SOUND, Cmd.SILENCE: Event.SILENCE}


@dataclass(frozen=True)
class Snapshot:
    """Everything the tray shows, as of one moment (immutable; any thread may read it)."""

    state: State = State.IDLE
    elapsed: float = 0.0
    level_db: float = float("-inf")
    pending: int = 0
    quitting: bool = False
    error: str | None = None
    recent: tuple[Path, ...] = ()
    config: Config = field(default_factory=Config)
    config_problem: str | None = None
    devices: tuple[DeviceChoice, ...] = ()
    devices_note: str | None = None
    hotkey_problem: str | None = None
    hotkey_trigger: str | None = None  # the key the desktop says it bound (Wayland portal); None: the config's
    folder: Path | None = None
    preroll: float = 0.0  # seconds the running pre-roll keeps (0: not listening)
    preroll_bytes: int = 0  # the memory it takes
    seq: int = 0
    apps: tuple[str, ...] = ()  # applications playing at the last scan (config ``app`` values)
    schedules: Any = None  # the schedule runner's ScheduleView (next runs, the active one)
    source: str = ""  # what the recording or the pre-roll listens to, in plain words ("" = nothing open)


class RecordingLike(Protocol):
    """What the controller needs of :class:`trayrip.api.Recording`."""

    result: Any

    def start(self) -> Any: ...
    def status(self) -> Any: ...
    def wait_done(self, timeout: float) -> bool: ...
    @property
    def failed(self) -> str | None: ...
    def stop_capture(self) -> Any: ...
    def finish(self) -> Any: ...


def _duration_text(seconds: float) -> str:
    from ..filing.naming import clock_duration

    return clock_duration(seconds)


def _filed_paths(filed: Any) -> list[Path]:
    paths = getattr(filed, "paths", None)  # several tracks when splitting
    if paths:
        return [Path(p) for p in paths]
    return [Path(filed.path)]


class Filer:
    """Runs finishing jobs in order on ``trayrip-filer`` (or inline, for tests).

    Each job's outcome is reported back through ``report(cmd, payload)``.
    """

    def __init__(self, report: Callable[[Cmd, Any], None], threaded: bool = True):
        self._report = report
        self._threaded = threaded
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._threaded and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="trayrip-filer", daemon=True)
            self._thread.start()

    def submit(self, rec: RecordingLike) -> None:
        """Queue ``rec`` for filing (controller thread)."""
        if self._threaded:
            self._queue.put(rec)
        else:
            self.file(rec)

    def stop(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while True:
            rec = self._queue.get()
            if rec is None:
                return
            self.file(rec)

    def file(self, rec: RecordingLike) -> None:
        """Trim, encode and move one closed recording; report the outcome (never raises)."""
        from ..api import RecordingFailed

        try:
            result = rec.result if rec.result is not None else rec.stop_capture()
            if result.frames == 0:
                reason = result.error or "no sound reached the recorder (was anything playing?)"
                try:
                    rec.finish()  # removes the empty capture file
                except TrayripError:
                    pass
                self._report(Cmd.DISCARDED, (rec, reason))
                return
            filed = rec.finish()
        except RecordingFailed as exc:
            if exc.filed is not None:
                self._report(Cmd.FILED, (rec, exc.filed, str(exc)))
            else:
                self._report(Cmd.FILING_FAILED, (rec, str(exc)))
            return
        except TrayripError as exc:
            self._report(Cmd.FILING_FAILED, (rec, str(exc)))
            return
        except Exception as exc:  # never a silently dead thread
            log.exception("filing a recording failed")
            self._report(Cmd.FILING_FAILED, (rec, f"filing the recording failed: {exc}"))
            return
        self._report(Cmd.FILED, (rec, filed, None))


class Controller:
    """Owns the state machine, the current recording and the settings in effect."""

    def __init__(
        self,
        config: Config,
        *,
        store: ConfigStore | None = None,
        recording_factory: Callable[[Any], RecordingLike] | None = None,
        notify: Callable[..., None] | None = None,
        opener: Callable[[Path], None] | None = None,
        device_lister: Callable[[], list[DeviceChoice]] | None = None,
        app_lister: Callable[[], list[str]] | None = None,
        rebind_hotkey: Callable[[str], str | None] | None = None,
        on_notifications: Callable[[bool], None] | None = None,
        config_problem: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        tick: float = 0.25,
        threaded_filer: bool = True,
        default_folder: Callable[[], Path] | None = None,
        preroll_factory: Callable[..., Any] | None = None,
        schedules: ScheduleRunner | None = None,
    ):
        self._config = config
        self._store = store
        self._factory = recording_factory or WarmRecordings()
        self._notify = notify or (lambda *a, **k: None)
        self._opener = opener or (lambda path: log.info("would open %s", path))
        self._device_lister = device_lister
        self._app_lister = app_lister
        self._apps: tuple[str, ...] = ()
        self._apps_scans = 0  # scans started; a result is used only if no later scan's came first
        self._apps_scan_seen = 0
        self._rebind_hotkey = rebind_hotkey
        self._on_notifications = on_notifications
        self._clock = clock
        self._wall = wall_clock
        self._tick_interval = tick
        self._default_folder = default_folder
        self._preroll_factory = preroll_factory or _default_preroll_factory(self._factory)
        self._preroll: Any = None  # the SharedStream kept open while idle (pre-roll), or None
        self._preroll_key: tuple | None = None  # the plan's warm key it was opened with
        self._schedules = schedules or ScheduleRunner()
        self._sources = {"rec": "", "preroll": "", "plan": "", "off": ""}  # tooltip words; "off": last pre-roll problem
        self._loss = ServerLoss()
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._filer = Filer(self.submit, threaded=threaded_filer)
        self._machine = Machine()
        self._rec: RecordingLike | None = None
        self._rec_command_time: float | None = None
        self._next_tick = 0.0
        self._error: str | None = None
        self._last_outcome: tuple[Any, ...] | None = None
        self._recent: list[Path] = []
        self._scanned = False
        self._devices: tuple[DeviceChoice, ...] = ()
        self._devices_note: str | None = None
        self._hotkey_problem = self._hotkey_trigger = None  # str | None: why it may not fire; the key the desktop bound
        self._config_problem = config_problem
        self._folder: Path | None = None
        self._seq = 0
        self._subscribers: list[Callable[[Snapshot], None]] = []
        self._exit_callbacks: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.snapshot = Snapshot(config=config, config_problem=config_problem)
        self.last_start_latency: float | None = None  # seconds from command to capture running
        self.last_capture_started_at: float | None = None  # wall clock (time.time())

    # -- any thread ------------------------------------------------------
    def submit(self, cmd: Cmd, payload: Any = None) -> None:
        """Queue a command (any thread, O(1), never blocks)."""
        self._queue.put((cmd, payload, self._clock()))

    def subscribe(self, fn: Callable[[Snapshot], None]) -> None:
        """Call ``fn(snapshot)`` on the controller thread after every change; it must be O(1)."""
        self._subscribers.append(fn)

    def on_exit(self, fn: Callable[[], None]) -> None:
        """Call ``fn()`` on the controller thread once Quit has finished everything."""
        self._exit_callbacks.append(fn)

    @property
    def state(self) -> State:
        return self.snapshot.state

    def wait_exit(self, timeout: float | None = None) -> bool:
        """Block until the controller has exited (after Quit)."""
        return self._done.wait(timeout)

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Controller:
        """Start the controller and filer threads."""
        self._filer.start()
        self._thread = threading.Thread(target=self._run, name="trayrip-controller", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
        self._filer.stop(timeout)

    def _run(self) -> None:
        self._guarded(self._startup)
        while not self._machine.exited:
            try:
                item = self._queue.get(timeout=self.wait_timeout())
            except queue.Empty:
                item = None
            if item is None:
                self._guarded(self.tick)
            else:
                self._guarded(self._handle, *item)
        self._finish_exit()

    def wait_timeout(self) -> float | None:
        """How long the controller may sleep on its queue: to the next schedule event (None: none) or tick while recording."""
        return self._schedules.wait(None if self._rec is None else max(0.0, self._next_tick - self._clock()))

    def run_pending(self) -> int:
        """Handle every queued command on the calling thread (tests); returns how many."""
        if not self._scanned:
            self._guarded(self._startup)
        n = 0
        while not self._machine.exited:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._guarded(self._handle, *item)
            n += 1
        if self._machine.exited and not self._done.is_set():
            self._finish_exit()
        return n

    def _finish_exit(self) -> None:
        self._close_preroll()
        for fn in self._exit_callbacks:
            try:
                fn()
            except Exception:
                log.exception("exit callback failed")
        self._done.set()

    def _guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as exc:  # never a silently dead controller
            log.exception("controller error")
            self._error = f"internal error: {exc}"
            try:
                self._event(Event.FAULT)
            except Exception:
                log.exception("handling a controller error failed")

    def _startup(self) -> None:
        self._scanned = True
        self._folder = self._effective_folder()
        self._recent = self._scan_recent(self._folder)
        self._sync_preroll()
        self._publish()
        if self._config_problem:
            self._notify("trayrip: problem in the config file", self._config_problem, error=True)

    # -- controller thread -------------------------------------------------
    def tick(self) -> None:
        """Start/stop what a schedule says; while recording: publish level/elapsed, notice a dead capture (controller thread)."""
        self._next_tick = self._clock() + self._tick_interval
        for cmd in self._schedules.due(self._config, busy=self._rec is not None):  # the normal start path
            self._handle(Cmd(cmd), None, self._clock())
        rec = self._rec
        if rec is None:
            return
        if rec.wait_done(0) or rec.failed:
            self._error = self._loss.lose(rec.failed or "the capture stopped by itself")
            self._event(Event.STREAM_LOST)
            return
        self._sources["rec"] = " — ".join(filter(None, (self._sources["plan"], getattr(rec, "now_playing", ""))))
        self._publish(rec.status())

    def _handle(self, cmd: Cmd, payload: Any, submitted: float) -> None:
        if cmd in _STATE_COMMANDS:
            if cmd in (Cmd.TOGGLE, Cmd.START, Cmd.ARM) and self._rec is None:
                self._rec_command_time = submitted
                self._reload_if_edited()
            self._event(_STATE_COMMANDS[cmd])
        elif cmd in _RECORDER_EVENTS:
            if payload is self._rec and payload is not None:  # not a late report of an ended recording
                self._event(_RECORDER_EVENTS[cmd])
        elif cmd is Cmd.PREROLL_LOST:
            self._preroll_lost(payload)
        elif cmd is Cmd.FILED:
            rec, filed, note = payload
            paths = _filed_paths(filed)
            for p in reversed(paths):
                self._remember(p)
            self._last_outcome = ("filed", filed, note)
            self._event(Event.FILED)
        elif cmd is Cmd.DISCARDED:
            self._last_outcome = ("discarded", payload[1])
            self._event(Event.DISCARDED)
        elif cmd is Cmd.FILING_FAILED:
            self._error = payload[1]
            self._event(Event.FILING_FAILED)
        elif cmd is Cmd.SET:
            self._set(*payload)
        elif cmd is Cmd.RELOAD_CONFIG:
            self._reload(explicit=True)
        elif cmd is Cmd.EDIT_CONFIG:
            self._edit_config()
        elif cmd is Cmd.OPEN_FOLDER:
            self._open_folder()
        elif cmd is Cmd.REFRESH_DEVICES:
            self._refresh_devices()
        elif cmd is Cmd.DEVICES:
            if isinstance(payload, str):
                self._devices_note = payload
            else:
                self._devices, self._devices_note = tuple(payload), None
            self._publish()
        elif cmd is Cmd.REFRESH_APPS:  # also what the stream watcher says when the server is back
            self._refresh_apps()
            self._server_back()
        elif cmd is Cmd.APPS:
            scan, found = payload
            if scan < self._apps_scan_seen:  # scans run side by side: an older one must not win
                return
            self._apps_scan_seen = scan
            if found != self._apps:  # the same list: no menu rebuild
                self._apps = found
                log.info("applications playing: %s", ", ".join(self._apps) or "none")
                self._publish()
        elif cmd is Cmd.SCHEDULES:
            self._schedules.command(payload)
            self._publish()
        elif cmd is Cmd.RECENT:
            self._recent = self._scan_recent(self._folder)
            self._publish()
        elif cmd is Cmd.HOTKEY_STATUS:  # e.g. the portal came back: HotkeyManager.follow binds again, here
            self._hotkey_problem, self._hotkey_trigger = payload() if callable(payload) else (payload, self._hotkey_trigger)
            self._publish()
        else:  # pragma: no cover
            log.warning("unknown command %r", cmd)

    def _event(self, event: Event) -> None:
        """Run one event through the transition table and perform its actions (in order)."""
        events = [event]
        while events:
            ev = events.pop(0)
            before = self._machine
            self._machine, actions = step(before, ev)
            if self._machine != before or actions:
                log.info(
                    "%s: %s -> %s%s",
                    ev.value,
                    before.state.value,
                    self._machine.state.value,
                    f" ({', '.join(a.value for a in actions)})" if actions else "",
                )
            for action in actions:
                follow = self._perform(action)
                if follow is not None:
                    events.append(follow)
        self._publish()

    def _perform(self, action: Action) -> Event | None:
        if action is Action.BEGIN_CAPTURE:
            return self._begin_capture()
        if action is Action.ARM_CAPTURE:
            return self._begin_capture(armed=True)
        if action is Action.SAVE_PREROLL:
            return self._save_preroll()
        if action is Action.END_CAPTURE:
            self._end_capture()
        elif action is Action.DISARM:
            self._disarm()
        elif action is Action.NOTIFY_SAVED:
            self._notify_saved()
        elif action is Action.NOTIFY_DISCARDED:
            reason = self._last_outcome[1] if self._last_outcome and self._last_outcome[0] == "discarded" else ""
            self._notify("Nothing recorded", reason)
        elif action is Action.NOTIFY_ERROR:
            self._notify("trayrip: recording problem", self._error or "unknown error", error=True)
        elif action is Action.EXIT:
            log.info("quitting: nothing is recording or being filed")
        return None

    def _new_recording(self, options) -> RecordingLike:
        """A recording from the factory whose recorder reports come back through the queue."""
        rec = self._factory(options)
        if hasattr(rec, "on_event"):
            rec.on_event = lambda kind, rec=rec: self.submit(Cmd.SOUND if kind == "sound" else Cmd.SILENCE, rec)
        return rec

    def _begin_capture(self, armed: bool = False) -> Event:
        t0 = self._rec_command_time if self._rec_command_time is not None else self._clock()
        self._rec_command_time = None
        begun = self._clock()  # the command waited in the queue until now
        try:
            self._sync_preroll()  # a warm stream opened on another plan is re-opened first
            plan = capture_plan.resolve(self._config, armed=armed, options=self._schedules.take_options())
            rec = self._new_recording(plan.options)
            if self._preroll is not None and self._preroll.running and plan.serves(self._preroll_key) \
                    and hasattr(rec, "use_source"):
                rec.use_source(self._preroll.tap())  # the stream (and its last seconds) goes to the recording
            try:
                rec.start()
                note = ("Armed: waiting for sound" if armed else "Recording started",
                        f"from {getattr(rec, 'description', '') or plan.label}")
            except NoMatchingApp as exc:  # the chosen application is not playing: record everything
                plan = plan.all_audio()
                rec = self._new_recording(plan.options)
                rec.start()
                note = ("Recording all system audio", f"{self._config.app} is not playing ({exc.playing})")
            self._sources["rec"] = self._sources["plan"] = plan.label
            self._notify(*note)
        except (TrayripError, ValueError, OSError) as exc:
            self._error = self._loss.lose(getattr(exc, "tray_message", None) or str(exc))  # tray_message: its own fix
            self._refresh_factory()
            self._sync_preroll()
            return Event.CAPTURE_FAILED
        except Exception as exc:
            log.exception("starting a recording failed")
            self._error = f"starting the recording failed: {exc}"
            self._refresh_factory()
            self._sync_preroll()
            return Event.CAPTURE_FAILED
        self._rec = rec
        self._error = None
        now = self._clock()
        self.last_start_latency = now - t0
        self.last_capture_started_at = self._wall()
        self._next_tick = now + self._tick_interval
        phases = getattr(rec, "start_phases", None) or {}
        log.info(
            "capture running at %.6f, %.1f ms after the command (queue %.1f ms%s)%s",
            self.last_capture_started_at,
            self.last_start_latency * 1000,
            (begun - t0) * 1000,
            "".join(f", {name} {seconds * 1000:.1f} ms" for name, seconds in phases.items()),
            " (armed: waiting for sound)" if armed else "",
        )
        return Event.ARM_STARTED if armed else Event.CAPTURE_STARTED

    def _refresh_factory(self) -> None:
        self._close_preroll()  # its stream belongs to the audio backend being replaced
        refresh = getattr(self._factory, "refresh", None)
        if refresh is not None:
            try:
                refresh()
            except Exception:
                log.exception("refreshing the audio backend failed")

    def _end_capture(self) -> None:
        rec, self._rec = self._rec, None
        if rec is None:
            return
        self._schedules.ended()
        try:
            log.info("capture stopped after %.1f s; filing it", stop_stream(rec))  # the file is closed by the filer
        except Exception:
            log.exception("stopping the capture failed; filing what there is")
        if rec.failed:
            self._refresh_factory()  # also closes the pre-roll: its stream died with the recording's
        self._filer.submit(rec)
        self._sync_preroll()

    def _disarm(self) -> None:
        """Stop waiting for sound: the capture held nothing, so nothing is filed."""
        rec, self._rec = self._rec, None
        if rec is None:
            return
        try:
            rec.discard()
            log.info("disarmed: nothing was recorded")
        except Exception:
            log.exception("stopping the armed capture failed")
        if rec.failed:
            self._refresh_factory()
        self._sync_preroll()

    # -- pre-roll ------------------------------------------------------------
    def _sync_preroll(self) -> None:
        """Open, re-open or close the idle stream to match the plan of this moment (not while a recording holds it)."""
        plan = capture_plan.resolve(self._config)
        key = plan.warm_key
        if self._rec is not None:
            return  # a recording holds the stream; settled when it ends
        if self._preroll is not None and key == self._preroll_key and self._preroll.running:
            return
        moved = key is not None and self._preroll_key not in (None, key)
        self._close_preroll()
        if key is None:
            return
        try:
            self._preroll = self._preroll_factory(
                plan.options, plan.preroll_seconds, lambda message: self.submit(Cmd.PREROLL_LOST, message)
            )
            self._preroll_key, self._sources["off"] = key, ""
            self._sources["preroll"] = plan.label + (", re-opened for the new settings: its buffer restarted"
                                                     if moved else "")
            if moved:
                log.info("pre-roll re-opened on %s (the settings changed): its buffer restarted", plan.label)
        except (TrayripError, ValueError, OSError) as exc:
            refresh = getattr(self._factory, "refresh", None)
            if refresh is not None and not isinstance(exc, NoMatchingApp):
                refresh()  # a device list fixed at start-up may be why
            log.warning("pre-roll is off: %s", exc)
            if not self._loss.lost and self._sources["off"] != str(exc):  # told once; a lost server's return is
                self._notify("trayrip: pre-roll is off", str(exc), error=True)
            self._sources["off"] = str(exc)

    def _close_preroll(self) -> None:
        stream, self._preroll, self._preroll_key = self._preroll, None, None
        if stream is not None:
            stream.close()
            log.info("pre-roll stream closed")

    def _preroll_lost(self, message: str) -> None:
        if self._preroll is None or self._preroll.tapped:
            return
        self._close_preroll()
        self._refresh_factory()
        told = self._loss.lost
        message = self._loss.lose(str(message))
        if not told and self._rec is None:  # a recording's own loss is told by the recording
            self._notify("trayrip: pre-roll stopped", message, error=True)
        self._publish()

    def _server_back(self) -> None:
        """Streams changed: a pre-roll that could not open (server lost, application not playing) tries again;
        after a lost server, once it answers, leave the error and say so."""
        if self._rec is None and self._preroll is None and self._config.preroll_seconds > 0:
            self._sync_preroll()
        if not self._loss.lost or self._rec is not None:
            return
        if self._config.preroll_seconds > 0 and self._preroll is None:
            return  # not back yet
        self._notify(*self._loss.back(self._preroll is not None))
        if self._machine.state is State.ERROR:
            self._event(Event.DISMISS)
        self._publish()

    def _save_preroll(self) -> Event | None:
        """Queue the pre-roll buffer for filing; DISCARDED at once when there is nothing to file."""
        from ..api import SavedAudio

        stream = self._preroll
        data = stream.snapshot() if stream is not None else b""
        if not data:
            reason = "pre-roll is off (Settings > Pre-roll)" if stream is None else "the pre-roll buffer is empty"
            self._last_outcome = ("discarded", reason)
            return Event.DISCARDED
        options = replace(capture_plan.resolve(self._config).options, split=False)
        job = SavedAudio(data, stream.format, options, description=stream.description, when=self._wall())
        log.info("saving the last %.1f s (pre-roll)", len(data) / stream.format.bytes_per_frame / stream.format.rate)
        self._filer.submit(job)
        return None

    def _notify_saved(self) -> None:
        if not self._last_outcome or self._last_outcome[0] != "filed":
            return
        _, filed, note = self._last_outcome
        paths = _filed_paths(filed)
        length = _duration_text(getattr(filed, "duration", 0.0))
        body = saved_body(filed, paths, length)
        if note:
            body += f"\n{plain_words(note)}"
        silent = getattr(filed, "silent", None)
        if silent:
            self._notify("Silent recording saved", f"{body}\nIt is {silent}: was anything playing, or is the output muted?")
            return
        self._notify("Recording saved" if not note else "Recording saved after an error", body)

    # -- settings ----------------------------------------------------------
    def _effective_folder(self) -> Path:
        if self._config.folder:
            return Path(self._config.folder).expanduser()
        if self._default_folder is not None:
            return self._default_folder()
        from ..filing.finish import default_folder

        return default_folder()

    def _apply_config(self, old: Config, new: Config) -> None:
        self._config = new
        if old.folder != new.folder or self._folder is None:
            self._folder = self._effective_folder()
        if old.hotkey != new.hotkey and self._rebind_hotkey is not None:
            problem = self._rebind_hotkey(new.hotkey)
            self._hotkey_problem = problem
            if problem:
                self._notify("trayrip: hotkey problem", problem, error=True)
        if old.notifications != new.notifications and self._on_notifications is not None:
            self._on_notifications(new.notifications)
        if self._scanned:
            self._sync_preroll()

    def _set(self, key: str, value: Any) -> None:
        old = self._config
        try:
            new = updated(old, key, value)
        except ConfigError as exc:
            self._notify("trayrip: setting not changed", str(exc), error=True)
            return
        if new == old:
            return
        self._apply_config(old, new)
        if self._store is not None:
            try:
                note = self._store.save(new)
            except ConfigError as exc:
                self._notify("trayrip: settings not saved", f"{exc}; the change applies until trayrip quits", error=True)
            else:
                if note:
                    self._config_problem = None
                    self._notify("trayrip: config file replaced", note)
        log.info("setting %s = %r", key, getattr(new, key))
        self._publish()

    def _reload_if_edited(self) -> None:
        if self._store is not None and self._store.changed_on_disk():
            log.info("the config file changed on disk; reloading it before recording")
            self._reload(explicit=False)

    def _reload(self, explicit: bool) -> None:
        if self._store is None:
            return
        result = self._store.load(previous=self._config)  # a typo keeps what works now
        self._config_problem = "; ".join(result.problems) if result.problems else None
        if result.problems:
            self._notify("trayrip: problem in the config file", self._config_problem, error=True)
        elif explicit:
            self._notify("trayrip: settings reloaded", str(self._store.path))
        self._apply_config(self._config, result.config)
        self._publish()

    def _edit_config(self) -> None:
        if self._store is None:
            return
        try:
            self._store.ensure_exists(self._config)
        except ConfigError as exc:
            self._notify("trayrip: cannot create the config file", str(exc), error=True)
            return
        self._opener(self._store.path)

    def _open_folder(self) -> None:
        folder = self._folder or self._effective_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._notify("trayrip: cannot open the recordings folder", f"{folder}: {exc.strerror or exc}", error=True)
            return
        self._opener(folder)

    def _refresh_apps(self) -> None:
        apps = self._app_lister
        if apps is None:
            return
        self._apps_scans += 1
        scan = self._apps_scans

        def scan_apps() -> None:  # its own short-lived thread: pactl may take a moment
            try:
                found = tuple(apps())
            except Exception as exc:  # no sound server: nothing to offer
                log.info("listing applications failed: %s", exc)
                found = ()
            self.submit(Cmd.APPS, (scan, found))

        threading.Thread(target=scan_apps, name="trayrip-apps", daemon=True).start()

    def _refresh_devices(self) -> None:
        self._refresh_apps()
        lister = self._device_lister
        if lister is None:
            return

        def scan() -> None:  # its own short-lived thread: a scan may take a moment
            try:
                result: Any = tuple(lister())
            except TrayripError as exc:
                result = str(exc)
            except Exception as exc:
                log.exception("listing devices failed")
                result = f"listing devices failed: {exc}"
            self.submit(Cmd.DEVICES, result)

        threading.Thread(target=scan, name="trayrip-devices", daemon=True).start()

    # -- recent recordings ---------------------------------------------------
    def _remember(self, path: Path) -> None:
        self._recent = [path] + [p for p in self._recent if p != path]
        del self._recent[RECENT_LIMIT:]

    @staticmethod
    def _scan_recent(folder: Path) -> list[Path]:
        return read_recent(folder, RECENT_LIMIT)  # the journal of whoever filed, then the folder's older files

    # -- publishing ----------------------------------------------------------
    def _publish(self, status: Any = None) -> None:
        m = self._machine
        prev = self.snapshot
        elapsed, level = 0.0, float("-inf")
        if self._rec is not None and m.state is State.RECORDING:
            if status is not None:
                elapsed, level = status.elapsed, status.level_db
            elif prev.state is State.RECORDING:
                elapsed, level = prev.elapsed, prev.level_db
        self._seq += 1
        snap = Snapshot(
            state=m.state,
            elapsed=elapsed,
            level_db=level,
            pending=m.pending,
            quitting=m.quitting,
            error=self._error if m.state is State.ERROR else None,
            recent=tuple(self._recent),
            config=self._config,
            config_problem=self._config_problem,
            devices=self._devices, devices_note=self._devices_note,
            hotkey_problem=self._hotkey_problem, hotkey_trigger=self._hotkey_trigger,
            folder=self._folder,
            preroll=self._preroll.seconds if self._preroll is not None else 0.0,
            preroll_bytes=self._preroll.memory_bytes if self._preroll is not None else 0,
            seq=self._seq,
            apps=self._apps,
            schedules=self._schedules.view,
            source=self._sources["rec"] if self._rec is not None else self._sources["preroll"] if self._preroll else "",
        )
        self.snapshot = snap
        for fn in self._subscribers:
            try:
                fn(snap)
            except Exception:
                log.exception("a state subscriber failed")


class WarmRecordings:
    """Recording factory that keeps one PortAudio instance ready (controller thread).

    Creating PortAudio probes every ALSA device (hundreds of ms), so it is
    done once -- ahead of time by :meth:`warm` on a background thread -- and
    reused; after a failed start or a lost stream it is re-created, since its
    device list is fixed when it starts.
    """

    def __init__(self, source_factory: Callable[..., Any] | None = None):
        self._lock = threading.Lock()
        self._backend = None
        self._source_factory = source_factory

    def _get_backend(self):
        with self._lock:
            if self._backend is None:
                from ..capture.portaudio import PortAudio

                backend = PortAudio()
                backend.instance()
                self._backend = backend
            return self._backend

    def warm(self) -> None:
        """Create PortAudio now (any thread) so the first hotkey press starts quickly."""
        try:
            self._get_backend()
        except Exception as exc:  # reported properly when a recording starts
            log.info("audio backend not ready yet: %s", exc)

    def refresh(self) -> None:
        with self._lock:
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def _open_source(self, options):
        from ..api import open_default_source

        return open_default_source(options, self._get_backend())

    def open_source(self, options) -> Any:
        """A capture source for ``options`` (the pre-roll stream uses it; controller thread)."""
        return (self._source_factory or self._open_source)(options)

    def __call__(self, options) -> RecordingLike:
        from ..api import Recording

        return Recording(options, source_factory=self._source_factory or self._open_source)

    def close(self) -> None:
        self.refresh()


def _default_preroll_factory(recordings: Any) -> Callable[..., Any]:
    """Open the idle pre-roll stream with the same source a recording would use."""

    def open_preroll(options, seconds: float, on_lost: Callable[[str], None]) -> Any:
        from ..recording.preroll import SharedStream

        opener = getattr(recordings, "open_source", None)
        if opener is None:
            raise TrayripError("pre-roll needs a capture source this recording factory cannot give")
        return SharedStream(opener(options), seconds, on_lost).start()

    return open_preroll
