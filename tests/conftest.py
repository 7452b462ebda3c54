"""Shared fixtures.

* ``harness`` (session): the real headless desktop + sound server from
  `tests/harness.py` (private D-Bus, PulseAudio with the null sink
  ``trayrip_test_sink`` and a 440 Hz decoy default source, Xvfb, trayer,
  dunst). If a part cannot start, every test using it fails with the part's
  log; it is never skipped. Tests that use it get the ``system`` marker, so
  ``pytest -m "not system"`` runs only the pure unit tests. Tests marked
  ``both_servers`` run twice, on PulseAudio (``[pulseaudio]``) and on
  PipeWire with pipewire-pulse (``[pipewire]``); ``server("pipewire")`` runs
  a test on that one only; the others run on PulseAudio.
  The fixture is parametrised per session, so pytest runs the tests grouped
  by server and stops one harness before it starts the other: the two
  servers never run at the same time.
* ``tmp_home`` (function): a fresh ``tmp_path/"home"`` as HOME in this
  process, with the XDG base/user-dir variables unset so defaults apply.
* ``user_env`` (function): ``harness.env`` with that HOME, for subprocesses
  (the trayrip CLI/tray under test).
* ``harness_environ`` (function): ``harness.env`` and that HOME applied to
  ``os.environ`` for in-process tests (undone afterwards).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# `import harness` / `import audio_tools` from any test module, whatever
# pytest's import mode.
_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from harness import SERVERS, XDG_VARS, Harness, HarnessError  # noqa: E402



def pytest_collection_modifyitems(config, items):
    for item in items:
        if "harness" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.system)


def pytest_generate_tests(metafunc):
    if "harness" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("server")
        both = metafunc.definition.get_closest_marker("both_servers")
        servers = only.args if only else SERVERS if both else SERVERS[:1]
        metafunc.parametrize("harness", servers, indirect=True, scope="session")


@pytest.fixture(scope="session")
def harness(request):
    h = Harness(server=getattr(request, "param", SERVERS[0]))
    try:
        h.start()
    except HarnessError as e:
        pytest.fail(str(e), pytrace=False)
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture(autouse=True)
def _harness_guard(request):
    """Before each test that uses the harness: bring PulseAudio back if an
    earlier test killed it, and fail clearly if another part has died; after
    it: fail if the sound server died on its own during the test."""
    if "harness" not in request.fixturenames:
        yield
        return
    h = request.getfixturevalue("harness")
    h.start_pulse()
    h.check_alive()
    yield
    crash = h.server_crash()  # (the next test's start_pulse() brings it back: say it here, where it happened)
    if crash:
        pytest.fail(crash, pytrace=False)


@pytest.fixture(autouse=True)
def _private_state_home(tmp_path_factory, monkeypatch):
    """What trayrip keeps in the user's state folder (the journal of filed recordings, logs) goes to a
    folder of the test's own; ``tmp_home`` and ``user_env`` unset it again (their HOME's own)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("xdg-state")))  # beside tmp_path, not in it


@pytest.fixture
def tmp_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var in XDG_VARS:
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def user_env(harness, tmp_home) -> dict[str, str]:
    env = dict(harness.env)
    for var in XDG_VARS:
        env.pop(var, None)
    env["HOME"] = str(tmp_home)
    return env


@pytest.fixture
def harness_environ(user_env, monkeypatch) -> dict[str, str]:
    for key, value in user_env.items():
        monkeypatch.setenv(key, value)
    for key in list(os.environ):
        if key not in user_env:
            monkeypatch.delenv(key, raising=False)
    return user_env


@pytest.fixture
def private_bus_address():
    """A private, real dbus-daemon for one test (no harness needed); yields its address."""
    daemon = subprocess.Popen(["dbus-daemon", "--session", "--print-address", "--nofork", "--nopidfile"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = daemon.stdout.readline().strip()
        assert address.startswith("unix:"), "dbus-daemon did not start"
        yield address
    finally:
        daemon.terminate()
        daemon.wait(10)
