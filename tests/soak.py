"""Days of uptime in minutes: the tray app through many hotkey recordings (issue 22, item 4).

Used by ``tests/system/test_soak_system.py`` (a short run that asserts the
counts stay flat) and ``bench/bench_soak.py`` (>= 1,000 recordings, figures
for the README). The real ``python -m trayrip`` runs in the harness desktop
with pre-roll on; every cycle presses the global hotkey (xdotool) to start,
waits until the capture runs, presses it again and waits for the outcome's
notification ("Recording saved", "Nothing recorded", or a problem), as
trayrip logs it. Every
``every`` cycles the sound server restarts and the default output switches
(a second null sink, "headphones", becomes the default, and is removed at
the next switch). A tone keeps playing into the default sink so recordings
are filed for real.

What is counted, of the trayrip process: RSS, open file descriptors,
threads, child processes; of the server: loaded modules and sinks.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import audio_tools as at
from harness import Harness, wait_until, write_user_config
from trayrip.hotkey_syntax import DEFAULT_HOTKEY, xdotool_keys

HOTKEY = xdotool_keys(DEFAULT_HOTKEY)
OUTCOMES = ("Recording saved", "Silent recording saved", "Nothing recorded", "trayrip: recording problem")
HEADPHONES = "headphones"
_NOTIFIED = re.compile(r"notification: (?P<summary>[^:\n]+):")
_RUNNING = re.compile(r"capture running at")


@dataclass(frozen=True)
class Counts:
    """One sample of what must stay flat."""

    cycle: int
    rss_kb: int
    fds: int
    threads: int
    children: int
    modules: int
    sinks: int

    def line(self) -> str:
        return (f"cycle {self.cycle:5d}: RSS {self.rss_kb / 1024:6.1f} MiB, {self.fds} fds, {self.threads} threads, "
                f"{self.children} children; server: {self.modules} modules, {self.sinks} sinks")


def _children(pid: int) -> int:
    n = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            n += 1
    return n


class Soak:
    """The tray app in ``harness`` with pre-roll on, driven by the hotkey."""

    def __init__(self, harness: Harness, env: dict, home: Path, workdir: Path, preroll: float = 2.0,
                 timeout: float = 30.0):
        self.h, self.env, self.home, self.timeout = harness, env, home, timeout
        write_user_config(home, f"preroll_seconds = {preroll:g}\nnotifications = true\n")
        self.tone = at.write_wav(workdir / "soak-tone.wav", at.tone(880, 30.0, amplitude=0.3))
        self._player: subprocess.Popen | None = None
        self._err = open(workdir / "trayrip-soak.stderr", "w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "trayrip"], env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self._err)
        self._headphones: int | None = None
        self._log_path: Path | None = None
        self._log_inode: int | None = None
        self._log_offset = 0
        self._text = ""  # read from the log, not yet matched
        self.outcomes: dict[str, int] = {k: 0 for k in OUTCOMES}
        self.cycles = 0
        self.started = 0

    # -- the app ------------------------------------------------------------
    def log(self) -> str:
        logs = sorted(self.home.rglob("trayrip.log"))
        return logs[0].read_text(errors="replace") if logs else ""

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            self._err.flush()
            raise AssertionError(f"trayrip exited with {self.proc.returncode}:\n"
                                 f"{Path(self._err.name).read_text()[-4000:]}\n--- log ---\n{self.log()[-8000:]}")

    def wait_ready(self) -> None:
        """Docked, and the pre-roll stream delivering."""
        wait_until(lambda: self._alive() or "pre-roll: audio flowing" in self.log(), self.timeout,
                   "trayrip's pre-roll to flow")

    def _read_new(self) -> str:
        """The log's text since the last call; the log rotates at 1 MB (trayrip.log -> trayrip.log.1)."""
        if self._log_path is None:
            found = sorted(self.home.rglob("trayrip.log"))
            if not found:
                return ""
            self._log_path = found[0]
        try:
            st = os.stat(self._log_path)
        except FileNotFoundError:
            return ""
        text = ""
        if self._log_inode is not None and st.st_ino != self._log_inode:  # rotated: finish the old file first
            try:
                with open(self._log_path.with_name(self._log_path.name + ".1"), "rb") as old:
                    old.seek(self._log_offset)
                    text = old.read().decode(errors="replace")
            except FileNotFoundError:
                pass
            self._log_offset = 0
        self._log_inode = st.st_ino
        with open(self._log_path, "rb") as f:
            f.seek(self._log_offset)
            data = f.read()
        self._log_offset += len(data)
        return text + data.decode(errors="replace")

    def _wait_for(self, pattern: re.Pattern, what: str) -> re.Match:
        """Wait until ``pattern`` appears in the log after what was read so far; consume up to it."""
        def look():
            self._alive()
            self._text += self._read_new()
            m = pattern.search(self._text)
            if m:
                self._text = self._text[m.end():]
            return m

        try:
            return wait_until(look, self.timeout, what, 0.01)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; log:\n{self.log()[-6000:]}") from None

    def _keep_playing(self) -> None:
        if self._player is None or self._player.poll() is not None:
            self._player = self.h.play(self.tone, wait=False, device=HEADPHONES if self._headphones else None,
                                       latency_msec=50)

    def _stop_playing(self) -> None:
        if self._player is not None:
            self._player.terminate()
            self._player.wait(5)
            self._player = None

    def cycle(self) -> None:
        """Start a recording with the hotkey, stop it, wait for its outcome."""
        self._keep_playing()
        self.h.xdotool("key", HOTKEY)
        self._wait_for(_RUNNING, f"recording {self.cycles + 1} to start")
        self.started += 1
        self.h.xdotool("key", HOTKEY)
        while True:
            m = self._wait_for(_NOTIFIED, f"recording {self.cycles + 1} to be filed or reported")
            if m["summary"] in self.outcomes:
                self.outcomes[m["summary"]] += 1
                break
        self.cycles += 1
        if self.cycles % 25 == 0:  # what is filed is not what is measured
            for f in (self.home / "Music" / "playlists").glob("*.wav"):
                f.unlink()

    def restart_server(self) -> None:
        """Restart the sound server; a second output goes with it (the harness loads only the speakers)."""
        self._stop_playing()
        self.h.restart_pulse()
        self._headphones = None

    def switch_output(self) -> None:
        """Headphones in (the new default), or out again; the tone moves with the default."""
        self._stop_playing()
        if self._headphones is None:
            self._headphones = self.h.add_sink(HEADPHONES)
            self.h.pactl("set-default-sink", HEADPHONES)
        else:
            self.h.remove_sink(self._headphones)
            self._headphones = None
            self.h.pactl("set-default-sink", self.h.sink)

    def counts(self) -> Counts:
        pid = self.proc.pid
        status = Path(f"/proc/{pid}/status").read_text()
        field = {k: v.split()[0] for k, v in (line.split(":", 1) for line in status.splitlines() if ":" in line) if v.split()}
        return Counts(
            cycle=self.cycles,
            rss_kb=int(field["VmRSS"]),
            fds=len(os.listdir(f"/proc/{pid}/fd")),
            threads=int(field["Threads"]),
            children=_children(pid),
            modules=len(self.h.pactl("list", "short", "modules").splitlines()),
            sinks=len(self.h.pactl("list", "short", "sinks").splitlines()),
        )

    def counts_once(self, settled, timeout: float = 10.0) -> Counts:
        """The counts once ``settled(counts)`` holds, or the last reading after ``timeout`` s: a child or a
        descriptor only passing through (a short-lived query or helper process) is no leak, and a leak never
        lets the condition hold."""
        readings: list[Counts] = []

        def read() -> bool:
            readings.append(self.counts())
            return settled(readings[-1])

        try:
            wait_until(read, timeout, "counts back to the reference", interval=0.1)
        except TimeoutError:
            pass  # the caller's assertion shows the reading
        return readings[-1]

    def run(self, cycles: int, every: int = 50, report=None,
            settled=None) -> tuple[Counts, list[Counts], Counts]:
        """``cycles`` recordings; a server restart and an output switch after every ``every``.

        Returns the counts before the first recording, a sample after every
        ``every`` recordings (taken before that restart and switch: the app
        has been recording steadily since the last one; after the first, on
        the headphones), and the counts at the end, once the default output
        is the one of the start again. With ``settled(samples so far,
        counts)``, each sample is read again until it holds (:meth:`counts_once`).
        """
        start = self.counts()
        samples: list[Counts] = []
        for i in range(1, cycles + 1):
            self.cycle()
            if i % every == 0:
                samples.append(self.counts_once(lambda c: settled(samples, c)) if settled else self.counts())
                if report:
                    report(samples[-1])
                if i < cycles:
                    self.restart_server()
                    self.switch_output()
        if self._headphones is not None:
            self.switch_output()
        return start, samples, self.counts()

    def close(self) -> None:
        if self._player is not None and self._player.poll() is None:
            self._player.terminate()
            self._player.wait(5)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()
