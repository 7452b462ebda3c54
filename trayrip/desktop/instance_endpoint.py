"""Where a second ``trayrip`` reaches the running one (the caller's thread).

* Unix: the socket ``trayrip.sock`` in the private runtime folder.
* Windows: CPython there has no ``AF_UNIX``, so the running app listens on a
  free loopback TCP port and writes ``PORT TOKEN`` to ``trayrip.port`` in the
  same private folder (the user's local app data). A client sends the token
  before its command; the port alone is not enough, so other users of the
  machine, who cannot read that folder, cannot command the app.
"""
from __future__ import annotations

import hmac
import os
import secrets
import socket
from pathlib import Path

__all__ = ["SOCKET_NAME", "PORT_NAME", "uses_tcp", "listen", "connect", "remove", "strip_token"]

SOCKET_NAME = "trayrip.sock"
PORT_NAME = "trayrip.port"


def uses_tcp() -> bool:
    """True where Unix sockets are missing (Windows' Python)."""
    return os.name == "nt" or not hasattr(socket, "AF_UNIX")


def listen(folder: Path) -> tuple[socket.socket, str | None]:
    """A listening socket for ``folder`` and the token clients must send (None on Unix)."""
    if not uses_tcp():
        path = folder / SOCKET_NAME
        try:
            path.unlink()  # left over from a crash; the caller holds the lock, so it is ours to remove
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        sock.listen(4)
        return sock, None
    token = secrets.token_hex(16)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    tmp = folder / (PORT_NAME + ".tmp")
    tmp.write_text(f"{sock.getsockname()[1]} {token}\n")
    os.replace(tmp, folder / PORT_NAME)
    return sock, token


def strip_token(line: str, token: str | None) -> str | None:
    """The command of a request line, or None when the token is wrong (Windows)."""
    if token is None:
        return line
    given, _, command = line.partition(" ")
    return command if hmac.compare_digest(given, token) else None


def connect(folder: Path, timeout: float) -> tuple[socket.socket, str]:
    """A connected socket and the prefix to send before the command.

    Raises FileNotFoundError or ConnectionRefusedError when nothing listens.
    """
    if not uses_tcp():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        address: object = str(folder / SOCKET_NAME)
        prefix = ""
    else:
        try:
            port, token = (folder / PORT_NAME).read_text().split()
        except ValueError:
            raise FileNotFoundError(str(folder / PORT_NAME)) from None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        address = ("127.0.0.1", int(port))
        prefix = token + " "
    sock.settimeout(timeout)
    try:
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock, prefix


def remove(folder: Path) -> None:
    """Remove what :func:`listen` left in ``folder`` (at exit)."""
    for name in (SOCKET_NAME, PORT_NAME):
        try:
            (folder / name).unlink()
        except OSError:
            pass
