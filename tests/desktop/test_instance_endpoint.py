"""The single-instance channel, both ways: Unix socket, and the Windows way (loopback TCP + token) run here."""
from __future__ import annotations

import socket

import pytest

from trayrip.desktop import instance_endpoint
from trayrip.desktop.instance import InstanceLock, NotRunning, ask_running


@pytest.fixture(params=["unix", "tcp"])
def way(request, monkeypatch):
    if request.param == "tcp":
        monkeypatch.setattr(instance_endpoint, "uses_tcp", lambda: True)
    return request.param


def test_second_process_commands_the_first(tmp_path, way):
    lock = InstanceLock(tmp_path)
    assert lock.acquire()
    seen = []
    lock.serve(lambda cmd: (seen.append(cmd), f"did {cmd}")[1])
    try:
        assert ask_running("toggle", tmp_path) == "did toggle"
        assert ask_running("status", tmp_path) == "did status"
    finally:
        lock.close()
    assert seen == ["toggle", "status"]
    assert not (tmp_path / instance_endpoint.PORT_NAME).exists() and not (tmp_path / "trayrip.sock").exists()
    with pytest.raises(NotRunning):
        ask_running("toggle", tmp_path)


def test_tcp_refuses_a_client_without_the_token(tmp_path, monkeypatch):
    monkeypatch.setattr(instance_endpoint, "uses_tcp", lambda: True)
    lock = InstanceLock(tmp_path)
    assert lock.acquire()
    seen = []
    lock.serve(lambda cmd: (seen.append(cmd), "ok")[1])
    try:
        port = int((tmp_path / instance_endpoint.PORT_NAME).read_text().split()[0])
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"toggle\n")
            assert s.recv(100).startswith(b"refused")
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            s.sendall(b"0123456789abcdef0123456789abcdef toggle\n")
            assert s.recv(100).startswith(b"refused")
    finally:
        lock.close()
    assert seen == []
