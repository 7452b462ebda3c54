"""The Windows harness: trayrip's Windows code in a real Windows CPython under Wine 10.

Runs inside the ``wine`` layer of ``installer/debian13-root.sh`` (recipe:
``installer/windows/wine-layer.sh``), started by ``installer/windows/test-wine.sh``.
Like ``tests/harness.py`` it starts its own parts by PID and stops them:

* PulseAudio with the null sink ``trayrip_test_sink`` as the default output
  and a 440 Hz sine source as the default *input* (a capture that opened the
  input instead of the loopback device records 440 Hz, never the test tone);
* Xvfb (a display for the tray and the hotkey tests; audio needs none);
* a persistent ``wineserver`` for the prefix made in the layer.

Wine's winepulse turns the WASAPI loopback of the default output into the
null sink's monitor, so a tone played from Linux with ``paplay`` is what the
Windows process records. A part that cannot start raises
:class:`HarnessError` (the tests using it fail; they are never skipped).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

WINEPREFIX = Path(os.environ.get("WINEPREFIX", "/opt/wineprefix"))
PYTHON_EXE = Path("/opt/winpython/python.exe")
SINK = "trayrip_test_sink"
DECOY_SOURCE = "trayrip_decoy_source"
DECOY_FREQUENCY = 440
RATE = 48000
CHANNELS = 2
WIN_USER = "root"  # Wine's user folder is named after the Linux user


class HarnessError(RuntimeError):
    """A part of the Windows harness could not start."""


def wait_until(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition`` until it returns something true; AssertionError naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def linux_path(win: str) -> Path:
    """A Windows path of the prefix (``C:\\...`` or ``Z:\\...``) as a Linux path."""
    drive, _, rest = win.strip().partition(":")
    parts = [p for p in rest.replace("\\", "/").split("/") if p]
    if drive.upper() == "Z":
        return Path("/", *parts)
    return WINEPREFIX / f"drive_{drive.lower()}" / Path(*parts)


class WineHarness:
    """Start with :meth:`start`, stop with :meth:`stop` (also after a failed start)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="trayrip-wine-"))
        self.procs: dict[str, subprocess.Popen] = {}
        self.display = ""
        self.startup_seconds: dict[str, float] = {}
        self._count = 0
        runtime = self.dir / "run"
        runtime.mkdir(mode=0o700)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(runtime),
            "PULSE_SERVER": f"unix:{self.dir / 'pulse' / 'native'}",
            "WINEPREFIX": str(WINEPREFIX),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
            "PYTHONUTF8": "1",
            # Compiled modules go to a tree of their own in the throwaway layer, not into the checkout.
            "PYTHONPYCACHEPREFIX": "C:\\pycache",
        }

    # parts -------------------------------------------------------------------

    def start(self) -> "WineHarness":
        for tool in ("wine", "wineserver", "pulseaudio", "pactl", "paplay", "Xvfb"):
            if shutil.which(tool, path=self.env["PATH"]) is None:
                raise HarnessError(f"{tool} is not installed: run the tests through installer/windows/test-wine.sh")
        if not PYTHON_EXE.exists():
            raise HarnessError(f"no Windows Python at {PYTHON_EXE}: the wine layer is incomplete")
        self._start_pulse()
        self._start_xvfb()
        self._start_wineserver()
        return self

    def _spawn(self, name: str, argv: list[str], env: dict | None = None, **kw) -> subprocess.Popen:
        log = open(self.dir / f"{name}.log", "ab")
        try:
            proc = subprocess.Popen(argv, env=env or self.env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True, **kw)
        except OSError as exc:
            raise HarnessError(f"{name} could not start: {exc}") from None
        finally:
            log.close()
        self.procs[name] = proc
        return proc

    def _fail(self, name: str, why: str) -> None:
        raise HarnessError(f"{name} {why}; its log ({self.dir / (name + '.log')}):\n{_tail(self.dir / (name + '.log'))}")

    def _start_pulse(self) -> None:
        t0 = time.monotonic()
        (self.dir / "pulse").mkdir(mode=0o700)
        (self.dir / "pulse-home").mkdir(mode=0o700)
        script = self.dir / "pulse.pa"
        script.write_text(
            "load-module module-native-protocol-unix auth-anonymous=1 auth-cookie-enabled=0 "
            f"socket={self.dir / 'pulse' / 'native'}\n"
            f"load-module module-null-sink sink_name={SINK} rate={RATE} channels={CHANNELS} "
            f"sink_properties=device.description={SINK}\n"
            f"load-module module-sine-source source_name={DECOY_SOURCE} rate={RATE} frequency={DECOY_FREQUENCY}\n"
            f"set-default-sink {SINK}\nset-default-source {DECOY_SOURCE}\n"
        )
        env = dict(self.env, HOME=str(self.dir / "pulse-home"), PULSE_RUNTIME_PATH=str(self.dir / "pulse"),
                   PULSE_STATE_PATH=str(self.dir / "pulse-home"))
        self._spawn("pulseaudio", [
            "pulseaudio", "-n", "--daemonize=no", "--system=no", "--exit-idle-time=-1", "--disallow-exit",
            "--use-pid-file=no", "--realtime=no", "--high-priority=no", "--log-target=stderr", "-F", str(script),
        ], env=env)
        try:
            wait_until(lambda: self.procs["pulseaudio"].poll() is not None or self.pulse_ready(), 15, "PulseAudio")
        except AssertionError:
            self._fail("pulseaudio", "did not answer in 15 s")
        if self.procs["pulseaudio"].poll() is not None:
            self._fail("pulseaudio", f"exited with {self.procs['pulseaudio'].returncode}")
        info = self.pactl("info")
        if f"Default Sink: {SINK}" not in info or f"Default Source: {DECOY_SOURCE}" not in info:
            self._fail("pulseaudio", f"is up without the test sink and decoy source:\n{info}")
        self.startup_seconds["pulseaudio"] = time.monotonic() - t0

    def pulse_ready(self) -> bool:
        try:
            return subprocess.run(["pactl", "info"], env=self.env, capture_output=True, timeout=5).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    def pactl(self, *args: str) -> str:
        out = subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, timeout=10)
        if out.returncode:
            raise HarnessError(f"pactl {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def stop_pulse(self) -> None:
        """Stop PulseAudio (for the tests of what trayrip says without it)."""
        self._stop("pulseaudio")

    def restart_pulse(self) -> None:
        self._stop("pulseaudio")
        shutil.rmtree(self.dir / "pulse", ignore_errors=True)
        shutil.rmtree(self.dir / "pulse-home", ignore_errors=True)
        self._start_pulse()

    def _start_xvfb(self) -> None:
        t0 = time.monotonic()
        read_fd, write_fd = os.pipe()
        self._spawn("xvfb", ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                    pass_fds=(write_fd,))
        os.close(write_fd)
        number = b""
        deadline = time.monotonic() + 15
        import select

        while not number.endswith(b"\n") and time.monotonic() < deadline:
            ready, _, _ = select.select([read_fd], [], [], 0.2)
            if ready:
                chunk = os.read(read_fd, 16)
                if not chunk:
                    break
                number += chunk
        os.close(read_fd)
        if not number.strip().isdigit():
            self._fail("xvfb", "gave no display number in 15 s")
        self.display = f":{number.strip().decode()}"
        self.env["DISPLAY"] = self.display
        self.startup_seconds["xvfb"] = time.monotonic() - t0

    def _start_wineserver(self) -> None:
        t0 = time.monotonic()
        self._spawn("wineserver", ["wineserver", "--foreground", "--persistent"])
        # The first Windows process of a session starts Wine's services (explorer, the systray).
        out = self.wine_cmd(["cmd", "/c", "echo", "ready"], timeout=60)
        if "ready" not in out.stdout:
            self._fail("wineserver", f"cannot run a Windows program ({out.returncode}: {out.stderr[-500:]})")
        self.startup_seconds["wine"] = time.monotonic() - t0

    def _stop(self, name: str, timeout: float = 10) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def stop(self) -> None:
        """Stop every Windows process and part this harness started (by PID)."""
        if "wineserver" in self.procs:
            subprocess.run(["wineserver", "--kill"], env=self.env, capture_output=True, timeout=30)
        for name in list(self.procs)[::-1]:
            self._stop(name)
        shutil.rmtree(self.dir, ignore_errors=True)

    # Windows programs -----------------------------------------------------

    def wine_cmd(self, argv: list[str], timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
        """Run a Windows program (``wine ARGV``) to its end.

        Output goes through files, not pipes: Wine's services (started by the
        first program) inherit the handles and would hold a pipe open.
        """
        proc = self.spawn_wine(argv, env=env)
        try:
            proc.wait(timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)
        return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout_text(), proc.stderr_text())

    def spawn_wine(self, argv: list[str], env: dict | None = None) -> "WineProcess":
        """``wine ARGV`` in the background (its Linux PID is the Windows process)."""
        self._count += 1
        return WineProcess(["wine", *argv], env or self.env, self.dir / f"p{self._count}")

    def trayrip(self, *args: str, timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
        """``python.exe -m trayrip ARGS`` in the Windows Python, to its end."""
        return self.wine_cmd([str(PYTHON_EXE), "-m", "trayrip", *args], timeout=timeout, env=env)

    def spawn_trayrip(self, *args: str, env: dict | None = None) -> "WineProcess":
        """``python.exe -m trayrip ARGS`` in the background."""
        return self.spawn_wine([str(PYTHON_EXE), "-m", "trayrip", *args], env=env)

    def reg(self, *args: str) -> subprocess.CompletedProcess:
        """Wine's ``reg`` (query/add/delete) against the prefix's registry."""
        return self.wine_cmd(["reg", *args], timeout=30)

    def user_dir(self) -> Path:
        return WINEPREFIX / "drive_c" / "users" / WIN_USER

    def play(self, wav: Path, timeout: float = 30) -> None:
        """Play a WAV file into the default output (the test sink), to its end."""
        subprocess.run(["paplay", f"--device={SINK}", str(wav)], env=self.env, check=True, timeout=timeout)

    def kill(self, proc: subprocess.Popen) -> None:
        """Wine's hard kill of a Windows process: SIGKILL to its Linux PID (no cleanup runs)."""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


class WineProcess(subprocess.Popen):
    """A Windows process whose stdout/stderr go to files (see :meth:`WineHarness.wine_cmd`)."""

    def __init__(self, argv: list[str], env: dict, stem: Path):
        self._out, self._err = stem.with_suffix(".out"), stem.with_suffix(".err")
        with open(self._out, "wb") as out, open(self._err, "wb") as err:
            super().__init__(argv, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)

    def stdout_text(self) -> str:
        return self._out.read_text(errors="replace")

    def stderr_text(self) -> str:
        return self._err.read_text(errors="replace")

    def finish(self, timeout: float) -> tuple[str, str]:
        """Wait for the end (killing it after ``timeout``) and return (stdout, stderr)."""
        try:
            self.wait(timeout)
        finally:
            if self.poll() is None:
                self.kill()
                self.wait(5)
        return self.stdout_text(), self.stderr_text()


def x_windows(env: dict) -> list[tuple[str, str, int, int, int, int]]:
    """Top-level X windows: (id, program, width, height, x, y), from ``xwininfo -root -tree``."""
    import re

    out = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True, timeout=10).stdout
    found = []
    for m in re.finditer(r"^\s+(0x[0-9a-f]+) .*?\(\"([^\"]*)\" \"[^\"]*\"\)\s+(\d+)x(\d+)\+(-?\d+)\+(-?\d+)", out, re.M):
        found.append((m.group(1), m.group(2), *map(int, m.group(3, 4, 5, 6))))
    return found
