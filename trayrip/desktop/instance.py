"""One tray app per user session; a second ``trayrip`` says that the first runs and starts nothing.

The first ``trayrip`` takes an exclusive lock on ``trayrip.lock`` in the
user's runtime folder (``platformdirs.user_runtime_dir``, i.e.
``$XDG_RUNTIME_DIR/trayrip`` on Linux; mode 0700). The kernel drops the lock
when the process ends, however it ends, so there are no stale locks. It
also listens on the Unix socket ``trayrip.sock`` beside the lock (Windows:
a loopback port with a secret, :mod:`.instance_endpoint`).

A second ``trayrip`` (launched again from the applications menu, say) finds
the lock taken, connects to the socket and sends ``launched``: the running
app shows a notification that it runs and how to record, and starts nothing
(a recording nobody asked for is a surprise); the second process says so and
exits with status 0 (1 if the running app did not answer). ``trayrip toggle``,
``trayrip start`` and ``trayrip stop`` send one command and never start a tray
(status 1 and "trayrip is not running" when none runs). Either works as the
command of a desktop keyboard shortcut -- the way to get a hotkey where no
global-shortcut portal exists on Wayland.

The protocol is one line each way: the command (``toggle``, ``start``,
``stop``, ``status``, ``arm``, ``reload``, ``hotkey`` (asked by ``trayrip doctor``)
or ``launched``), then the app's one-line reply.

Threads: :meth:`InstanceLock.serve` runs ``trayrip-instance``, which blocks
in ``accept()`` (no polling) and hands each request to a handler that must
only queue a command.
"""
from __future__ import annotations

import logging
import os
import socket
import stat
import tempfile
import threading
from pathlib import Path
from typing import Callable

from ..errors import TrayripError
from . import instance_endpoint as endpoint
from .instance_endpoint import SOCKET_NAME

__all__ = ["runtime_dir", "InstanceLock", "ask_running", "launched_again_text", "NotRunning", "COMMANDS", "LAUNCHED"]

log = logging.getLogger(__name__)

LOCK_NAME = "trayrip.lock"
COMMANDS = ("toggle", "start", "stop", "status", "schedules", "arm", "reload", "hotkey")
LAUNCHED = "launched"  # sent by a second plain ``trayrip``


def launched_again_text(snapshot) -> str:
    """The notification's body when trayrip is launched again: its state and how to record."""
    from ..hotkey_syntax import HotkeyError, display_name

    try:
        key = display_name(snapshot.config.hotkey)
    except HotkeyError:
        key = snapshot.config.hotkey
    state = "It is recording now." if snapshot.state.value == "recording" else "Nothing was started."
    return f"{state} Press {key}, use the tray icon, or run `trayrip toggle` to start or stop recording."


class NotRunning(TrayripError):
    """No trayrip tray app runs in this session (nothing listens on the socket)."""


def _private_dir(path: Path) -> Path | None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return None
    if os.name == "posix":
        if st.st_uid != os.getuid() or not stat.S_ISDIR(st.st_mode):
            return None
        if st.st_mode & 0o077:
            try:
                os.chmod(path, 0o700)
            except OSError:
                return None
    return path


def runtime_dir() -> Path:
    """A private (0700) folder for the lock and socket, computed when called."""
    import platformdirs

    preferred = Path(platformdirs.user_runtime_dir("trayrip", appauthor=False))
    folder = _private_dir(preferred)
    if folder is None:
        uid = os.getuid() if hasattr(os, "getuid") else os.getpid()
        folder = _private_dir(Path(tempfile.gettempdir()) / f"trayrip-{uid}")
    if folder is None:
        raise TrayripError(f"cannot create a private runtime folder (tried {preferred})")
    return folder


def _try_lock(fd: int) -> bool:
    if os.name == "posix":
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    import msvcrt  # pragma: no cover - Windows

    try:  # pragma: no cover
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    except OSError:  # pragma: no cover
        return False
    return True  # pragma: no cover


class InstanceLock:
    """The single-instance lock and the socket a second ``trayrip`` talks to."""

    def __init__(self, folder: Path | None = None):
        if folder is None:
            self.folder = runtime_dir()
        else:
            self.folder = _private_dir(Path(folder)) or Path(folder)
        self.lock_path = self.folder / LOCK_NAME
        self.socket_path = self.folder / SOCKET_NAME
        self._fd: int | None = None
        self._sock: socket.socket | None = None
        self._token: str | None = None
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lock; False if another trayrip holds it (caller's thread)."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def serve(self, handler: Callable[[str], str]) -> None:
        """Listen for commands from later ``trayrip`` runs; ``handler(command) -> reply`` must be O(1)."""
        if self._fd is None:
            raise RuntimeError("serve() needs the lock")
        sock, self._token = endpoint.listen(self.folder)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, args=(sock, handler), name="trayrip-instance", daemon=True)
        self._thread.start()

    def _accept_loop(self, sock: socket.socket, handler: Callable[[str], str]) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # closed at exit
            try:
                with conn:
                    conn.settimeout(2.0)
                    data = b""
                    while b"\n" not in data and len(data) < 256:
                        chunk = conn.recv(256)
                        if not chunk:
                            break
                        data += chunk
                    line = data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
                    command = endpoint.strip_token(line, self._token)
                    reply = handler(command) if command is not None else "refused: wrong token"
                    conn.sendall((reply.replace("\n", " ") + "\n").encode())
            except Exception:  # a bad client must not end the listener
                log.exception("answering another trayrip failed")

    def running_pid(self) -> int | None:
        """The pid written by the running instance (for messages)."""
        try:
            return int(self.lock_path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def close(self) -> None:
        """Stop listening and release the lock (app thread, at exit)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
            except OSError:
                pass
            sock.close()
            endpoint.remove(self.folder)
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None


def ask_running(command: str = "toggle", folder: Path | None = None, timeout: float = 3.0) -> str:
    """Send ``command`` to the running trayrip; return its reply or raise TrayripError."""
    where = Path(folder) if folder is not None else runtime_dir()
    path = where / SOCKET_NAME
    try:
        sock, prefix = endpoint.connect(where, timeout)
        with sock:
            sock.sendall((prefix + command).encode() + b"\n")
            data = b""
            while b"\n" not in data:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                data += chunk
    except (FileNotFoundError, ConnectionRefusedError):
        raise NotRunning("trayrip is not running; start it with 'trayrip' (the tray app) first") from None
    except OSError as exc:
        raise TrayripError(f"the running trayrip did not answer on {path}: {exc.strerror or exc}") from None
    reply = data.decode("utf-8", "replace").strip()
    if not reply:
        raise TrayripError("the running trayrip closed the connection without answering")
    return reply

