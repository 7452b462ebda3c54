"""The tray app's composition root: ``trayrip`` / ``trayrip tray`` (main thread).

Start-up order: single-instance lock (a second ``trayrip`` tells the running
one, which says it runs, and exits, see :mod:`trayrip.desktop.instance`), settings,
notifier, tray icon (fails early without a desktop), controller, global
hotkey, then the tray loop on the main thread until Quit. Quit -- from the
menu, SIGTERM/SIGINT/SIGHUP, or the tray loop ending -- finishes the
recording in progress and waits for filing before the process exits.

Threads started here: ``trayrip-controller`` and ``trayrip-filer``
(controller), ``trayrip-tray-ui`` (tray), ``trayrip-hotkey`` (pynput) or
``trayrip-portal`` (the Wayland GlobalShortcuts portal),
``trayrip-notify``, ``trayrip-opener``, ``trayrip-instance``, and the
short-lived ``trayrip-warmup`` (prepares PortAudio so the first hotkey press
starts quickly) and ``trayrip-devices``.
"""
from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

from ..config import ConfigStore
from .controller import Cmd, Controller, WarmRecordings, list_apps, list_devices
from ..errors import TrayripError
from .autostart import AutostartSwitch
from .hotkey_view import status_line
from .hotkeys import HotkeyManager
from .instance import LAUNCHED, InstanceLock, ask_running, launched_again_text
from ..logsetup import log_file
from .notify import Notifier
from .schedule_runner import ScheduleRunner
from ..schedule.store import ScheduleStore
from ..schedule.timers import os_timers
from .state import State

__all__ = ["run_tray", "Opener"]

log = logging.getLogger(__name__)

QUIT_TIMEOUT = 600.0  # filing a long recording into a compressed format can take a while


class Opener:
    """Opens files and folders in the desktop's default application (``trayrip-opener`` thread).

    :meth:`open` is O(1) (menu callbacks call it); the launcher runs on the
    thread, with an argument list.
    """

    def __init__(self, on_error: Callable[[str], None] | None = None):
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._on_error = on_error or (lambda message: log.warning("%s", message))
        self._thread: threading.Thread | None = None

    def start(self) -> Opener:
        self._thread = threading.Thread(target=self._run, name="trayrip-opener", daemon=True)
        self._thread.start()
        return self

    def open(self, path: Path) -> None:
        """Queue ``path`` to be opened (any thread)."""
        self._queue.put(Path(path))

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(2)

    def _run(self) -> None:
        while True:
            path = self._queue.get()
            if path is None:
                return
            try:
                self._launch(path)
            except Exception as exc:  # never a silently dead thread
                log.exception("opening %s failed", path)
                self._on_error(f"cannot open {path}: {exc}")

    def _launch(self, path: Path) -> None:
        if not path.exists():
            self._on_error(f"{path} does not exist (any more)")
            return
        if sys.platform.startswith("win"):
            os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
            return
        tool = "open" if sys.platform == "darwin" else "xdg-open"
        exe = shutil.which(tool)
        if exe is None:
            self._on_error(f"cannot open {path}: {tool} was not found (Debian/Ubuntu: apt install xdg-utils)")
            return
        log.info("opening %s", path)
        proc = subprocess.Popen(
            [exe, str(path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            return  # still running (some launchers wait for the application): fine
        if code != 0:
            self._on_error(f"{tool} could not open {path} (exit status {code})")


def _second_instance(lock: InstanceLock) -> int:
    pid = lock.running_pid()
    who = f"trayrip is already running (pid {pid})" if pid else "trayrip is already running"
    try:
        reply = ask_running(LAUNCHED, lock.folder)  # says so and starts nothing; `trayrip toggle` toggles
    except TrayripError as exc:
        sys.stderr.write(f"{who}, but it did not answer: {exc}\n")
        return 1
    sys.stderr.write(f"{who}: {reply}\n")
    return 0


def _instance_handler(controller: Controller, notify: Callable[..., None]) -> Callable[[str], str]:
    """Answers ``trayrip toggle|start|stop|status``, ``doctor``'s ``hotkey`` and a second ``trayrip``."""

    def handle(command: str) -> str:  # trayrip-instance thread: O(1)
        recording = controller.state is State.RECORDING
        if command == "toggle":  # TOGGLE itself, so quick repeats alternate like hotkey presses
            controller.submit(Cmd.TOGGLE)
            if recording:
                return "asked it to stop recording"
            return "asked it to start recording"  # the controller says what it records, once it does
        if command == "start":
            if recording:
                return "already recording"
            controller.submit(Cmd.START)
            return "asked it to start recording"
        if command == "stop":
            if not recording:
                return "not recording"
            controller.submit(Cmd.STOP)
            return "asked it to stop recording"
        if command == "status":
            return controller.state.value
        if command == "hotkey":  # for `trayrip doctor`: the key bound now, or why it may not fire
            return status_line(controller.snapshot)
        if command == "schedules":  # `trayrip schedule` changed the file, or an OS timer fired
            controller.submit(Cmd.SCHEDULES)
            return "the running trayrip checks its schedules now"
        if command in ("arm", "reload"):
            controller.submit(Cmd.ARM if command == "arm" else Cmd.RELOAD_CONFIG)
            return f"asked it to {'arm (or stop waiting)' if command == 'arm' else 'reload its config file'}"
        if command == LAUNCHED:  # launched again (e.g. from the applications menu): a surprise recording is worse
            notify("trayrip is already running", launched_again_text(controller.snapshot))
            return "nothing was started (`trayrip toggle` starts or stops recording)"
        return f"unknown command {command!r}"

    return handle


def _recover_leftovers(config, notify: Callable[..., None]) -> None:
    """At start-up (own thread): file the recordings a crash or kill left behind, and say so."""
    from ..filing.finish import default_folder
    from ..filing.naming import clock_duration
    from ..filing.recovery import recover_all
    from ..recording.silence import SilenceSettings

    if sys.platform.startswith("linux"):
        from ..capture.routing import cleanup_leftovers

        cleanup_leftovers()  # what a killed one-application recording left in the sound server
    folders = [default_folder()] + ([Path(config.folder).expanduser()] if config.folder else [])
    try:
        reports = recover_all(folders, SilenceSettings(threshold_db=config.threshold_db), trim=config.trim,
                              format=config.format)
    except Exception:  # never a silently dead thread
        log.exception("looking for unfinished recordings failed")
        return
    for r in reports:
        if r.filed is not None:
            length = clock_duration(r.filed.duration)
            notify("Recovered an unfinished recording", f"{r.filed.path.name} ({length}) in {r.filed.path.parent}")
        elif r.problem:
            notify("trayrip: could not recover a recording", r.message, error=True)


def run_tray(args) -> int:
    """Run the tray app until Quit; returns the exit status (main thread)."""
    lock = InstanceLock()
    if not lock.acquire():
        return _second_instance(lock)
    try:
        return _run(lock)
    finally:
        lock.close()


def _run(lock: InstanceLock) -> int:
    from .memory import limit_arenas
    from .tray import Tray

    limit_arenas()  # before the threads: see memory.py

    store = ConfigStore()
    loaded = store.load()
    for problem in loaded.problems:
        log.warning("%s", problem)
    log.info("settings: %s%s", store.path, "" if loaded.exists else " (not there yet: defaults)")

    notifier = Notifier(enabled=loaded.config.notifications).start()
    opener = Opener(on_error=lambda m: notifier.notify("trayrip: cannot open", m, error=True)).start()
    recordings = WarmRecordings()
    hotkeys: HotkeyManager | None = None
    controller: Controller | None = None
    autostart: AutostartSwitch | None = None
    stream_watcher = None
    sleep_guard = None
    try:
        hotkeys = HotkeyManager(  # the callbacks run on the hotkey backend's thread: O(1), they only queue
            lambda: controller.submit(Cmd.TOGGLE),
            on_change=lambda: controller.submit(Cmd.HOTKEY_STATUS, hotkeys.follow),  # e.g. the portal came back
        )
        controller = Controller(
            loaded.config,
            store=store,
            recording_factory=recordings,
            notify=notifier.notify,
            opener=opener.open,
            device_lister=list_devices,
            app_lister=list_apps,
            rebind_hotkey=hotkeys.bind,
            on_notifications=lambda on: setattr(notifier, "enabled", on),
            config_problem="; ".join(loaded.problems) or None,
            schedules=ScheduleRunner(ScheduleStore(), notify=notifier.notify, timers=os_timers()),
        )
        autostart = AutostartSwitch(on_error=lambda m: notifier.notify("trayrip: autostart", m, error=True))
        tray = Tray(controller.submit, opener=opener.open, log_path=log_file, autostart=autostart)  # raises TrayripError without a desktop
        notifier.set_fallback(tray.notify if tray.has_notification else None)
        if sys.platform.startswith("linux"):  # logind: sleep waits while a recording runs
            from .sleep_inhibit import SleepGuard

            from .memory import AfterRecording

            sleep_guard, trim = SleepGuard(), AfterRecording()
            controller.subscribe(lambda snap: tray.update(sleep_guard.update(trim.update(snap))))
        else:
            controller.subscribe(tray.update)
        controller.on_exit(tray.stop)

        problem = hotkeys.bind(loaded.config.hotkey)  # before the controller thread owns rebinding
        if problem:
            controller.submit(Cmd.HOTKEY_STATUS, problem)
            notifier.notify("trayrip: global hotkey", problem, error=True)
        try:
            lock.serve(_instance_handler(controller, notifier.notify))
        except OSError as exc:  # e.g. a socket path too long: only the toggle-by-second-run is lost
            log.warning("cannot listen on %s (%s): a second trayrip will not reach this one", lock.socket_path, exc)
        threading.Thread(target=recordings.warm, name="trayrip-warmup", daemon=True).start()
        threading.Thread(
            target=_recover_leftovers, args=(loaded.config, notifier.notify), name="trayrip-recovery", daemon=True
        ).start()
        controller.submit(Cmd.REFRESH_DEVICES)
        controller.start()
        if sys.platform.startswith("linux"):  # "Record from" stays current: rescanned when streams come and go
            from ..capture.stream_events import StreamWatcher

            stream_watcher = StreamWatcher(lambda: controller.submit(Cmd.REFRESH_APPS)).start()
        log.info("trayrip is running (pid %d, tray backend %s)", os.getpid(), tray.backend)
        try:
            tray.run()
            log.debug("the tray loop returned")
        finally:
            if not controller.wait_exit(0):
                log.info("the tray loop ended; finishing before exit")
                controller.submit(Cmd.QUIT)
                if not controller.wait_exit(QUIT_TIMEOUT):
                    log.error("filing did not finish within %.0f s; the capture file stays for recovery", QUIT_TIMEOUT)
    finally:
        log.debug("shutting down: hotkey, stream watcher")
        if hotkeys is not None:
            hotkeys.stop()
        if stream_watcher is not None:
            stream_watcher.stop()
        log.debug("shutting down: controller")
        if controller is not None:
            controller.join(5)
        if sleep_guard is not None:
            sleep_guard.close()
        log.debug("shutting down: audio backend, opener, notifier")
        recordings.close()
        if autostart is not None:
            autostart.close()  # a change clicked just before Quit is still written
        opener.close()
        notifier.close()
    log.info("trayrip stopped")
    return 0
