"""An application that plays one long-lived stream, told by the test what to play and when.

A media player keeps one stream open across tracks, and it is that stream
the server moves when the default output changes. ``pacat`` (named as the
application) plays what a writer thread feeds it: silence, or the samples
given to :meth:`AppPlayer.play`. The pipe to pacat is one page and pacat's
buffer 50 ms, so once :meth:`play` returns (the samples and a short silent
tail written), the samples have reached the server: what the test does next
(switch the output) happens after them.
"""
from __future__ import annotations

import fcntl
import queue
import subprocess
import threading

import numpy as np

from harness import CHANNELS, RATE

_F_SETPIPE_SZ = 1031
_BLOCK = RATE // 50  # 20 ms of silence at a time while nothing is asked


class AppPlayer:
    """``pacat`` playing as application ``app`` on the default output (or ``device``)."""

    def __init__(self, harness, app: str, device: str | None = None):
        self.app = app
        self.proc = subprocess.Popen(
            ["pacat", "--playback", "--raw", "--format=s16le", f"--rate={RATE}", f"--channels={CHANNELS}",
             "--latency-msec=50", f"--client-name={app}", f"--stream-name={app}",
             f"--property=application.name={app}", *([f"--device={device}"] if device else [])],
            env=harness.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdin is not None
        fcntl.fcntl(self.proc.stdin.fileno(), _F_SETPIPE_SZ, 4096)
        self._asked: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._feed, name=f"player-{app}", daemon=True)
        self._thread.start()

    def play(self, samples: np.ndarray, tail: float = 0.2, timeout: float = 30) -> None:
        """Play float ``samples`` (frames, channels), then ``tail`` s of silence; returns once all is written."""
        pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        pcm = np.concatenate([pcm, np.zeros((int(tail * RATE), CHANNELS), "<i2")])
        done = threading.Event()
        self._asked.put((pcm.tobytes(), done))
        assert done.wait(timeout), f"{self.app} could not play its samples within {timeout} s"

    def _feed(self) -> None:
        silence = bytes(_BLOCK * CHANNELS * 2)
        stdin = self.proc.stdin
        try:
            while True:
                try:
                    data, done = self._asked.get_nowait()
                except queue.Empty:
                    data, done = silence, None
                if data is None:
                    return
                stdin.write(data)
                stdin.flush()
                if done is not None:
                    done.set()
        except (BrokenPipeError, ValueError, OSError):
            return

    def close(self) -> None:
        self._asked.put((None, None))
        self._thread.join(5)
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def __enter__(self) -> "AppPlayer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
