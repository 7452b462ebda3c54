"""A test backend for xdg-desktop-portal's GlobalShortcuts, and the portal stack that uses it.

Run as a program (``python portal_backend.py``) on the harness's private
session bus, it owns :data:`BUS_NAME` and implements
``org.freedesktop.impl.portal.GlobalShortcuts`` the way a desktop does,
without a dialog: ``CreateSession`` and ``BindShortcuts`` succeed at once.
It reports on stdout, one line each::

    READY <unique name>
    SESSION <session path> <app id>
    BOUND <session path> <shortcut id> <preferred trigger or ->

and reads commands on stdin: ``activate <shortcut id>`` emits ``Activated``
(then ``Deactivated``, as a key release) for the last session;
``next-bind <code> hold|now [trigger]`` makes the next ``BindShortcuts`` answer with
response ``code`` (0 bound, 1 cancelled by the user), and with ``hold`` only
after ``release`` (a desktop waiting for the user to confirm), binding
``trigger`` instead of the preferred one (the user picked another key);
``change <shortcut id> <trigger>`` emits ``ShortcutsChanged`` for the last
session (the user changed the key in the desktop's settings). Each command
is acknowledged with ``OK <command>``.

:class:`PortalStack` starts this backend and the real frontend
(``/usr/libexec/xdg-desktop-portal`` from Debian's xdg-desktop-portal 1.16)
with a private portal folder and ``XDG_CURRENT_DESKTOP`` matching its
``UseIn``. Portal 1.16 reads ``*.portal`` files from ``$XDG_DESKTOP_PORTAL_DIR``
(default ``/usr/share/xdg-desktop-portal/portals``) and picks, per interface,
the first backend whose ``UseIn`` names a desktop in ``XDG_CURRENT_DESKTOP``
(else any that has the interface); newer portals read
``$XDG_DATA_DIRS/xdg-desktop-portal/portals`` plus ``portals.conf``, so both are
set. The frontend is only started once the backend owns its name: 1.16 makes
its proxy to the backend at start-up.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

BUS_NAME = "org.freedesktop.impl.portal.desktop.trayriptest"
DESKTOP = "trayriptest"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
IMPL = "org.freedesktop.impl.portal.GlobalShortcuts"
FRONTEND = "/usr/libexec/xdg-desktop-portal"


# ------------------------------------------------------------------ the backend program

def serve() -> None:  # pragma: no cover - runs in its own process
    from jeepney import DBusAddress, HeaderFields, MatchRule, MessageType, new_error, new_method_return, new_signal
    from jeepney.bus_messages import message_bus
    from jeepney.io.threading import open_dbus_router

    with open_dbus_router(bus="SESSION") as router:
        (code,) = router.send_and_get_reply(message_bus.RequestName(BUS_NAME, 4)).body
        if code != 1:
            sys.exit(f"cannot own {BUS_NAME} (RequestName answered {code})")
        calls = router.filter(MatchRule(type="method_call"), bufsize=256)
        lock = threading.Lock()
        state = {"session": None, "code": 0, "hold": False, "held": None, "trigger": None}
        emitter = DBusAddress(PORTAL_PATH, interface=IMPL)

        def say(line: str) -> None:
            with lock:
                print(line, flush=True)

        def commands() -> None:
            for line in sys.stdin:
                parts = line.split()
                if len(parts) == 2 and parts[0] == "activate" and state["session"]:
                    stamp = int(time.monotonic() * 1000)
                    body = (state["session"], parts[1], stamp, {})
                    router.send(new_signal(emitter, "Activated", "osta{sv}", body))
                    router.send(new_signal(emitter, "Deactivated", "osta{sv}", (state["session"], parts[1], stamp + 50, {})))
                    say(f"ACTIVATED {parts[1]}")
                elif len(parts) in (3, 4) and parts[0] == "next-bind":
                    state["code"], state["hold"] = int(parts[1]), parts[2] == "hold"
                    state["trigger"] = parts[3] if len(parts) == 4 else None
                    say(f"OK {line.strip()}")
                elif len(parts) == 3 and parts[0] == "change" and state["session"]:
                    shortcuts = [(parts[1], {"description": ("s", "changed"), "trigger_description": ("s", parts[2])})]
                    router.send(new_signal(emitter, "ShortcutsChanged", "oa(sa{sv})", (state["session"], shortcuts)))
                    say(f"OK {line.strip()}")
                elif parts == ["release"] and state["held"] is not None:
                    router.send(state["held"])
                    state["held"] = None
                    say("OK release")

        threading.Thread(target=commands, daemon=True).start()
        say(f"READY {router.unique_name}")
        while True:
            msg = calls.queue.get()
            if msg.header.message_type != MessageType.method_call:
                continue
            f = msg.header.fields
            iface, member = f.get(HeaderFields.interface), f.get(HeaderFields.member)
            if iface == "org.freedesktop.DBus.Properties" and member == "GetAll":
                props = {"version": ("u", 1)} if msg.body[0] == IMPL else {}
                router.send(new_method_return(msg, "a{sv}", (props,)))
            elif iface == "org.freedesktop.DBus.Properties" and member == "Get" and msg.body[0] == IMPL:
                router.send(new_method_return(msg, "v", (("u", 1),)))
            elif iface == IMPL and member == "CreateSession":
                _handle, session, app_id, _options = msg.body
                state["session"] = session
                say(f"SESSION {session} {app_id or '-'}")
                router.send(new_method_return(msg, "ua{sv}", (0, {"shortcuts": ("a(sa{sv})", [])})))
            elif iface == IMPL and member == "BindShortcuts":
                _handle, session, shortcuts, _parent, _options = msg.body
                bound = []
                for sid, props in shortcuts:
                    trigger = state["trigger"] or props.get("preferred_trigger", ("s", ""))[1]
                    say(f"BOUND {session} {sid} {trigger or '-'}")
                    bound.append((sid, {"description": props.get("description", ("s", "")),
                                        "trigger_description": ("s", trigger or "unassigned")}))
                reply = new_method_return(msg, "ua{sv}", (state["code"], {"shortcuts": ("a(sa{sv})", bound)}))
                if state["hold"]:
                    state["held"], state["hold"] = reply, False
                else:
                    router.send(reply)
                state["code"], state["trigger"] = 0, None
            elif member == "Close" and iface in ("org.freedesktop.impl.portal.Session",
                                                 "org.freedesktop.impl.portal.Request"):
                say(f"CLOSED {f.get(HeaderFields.path)}")
                router.send(new_method_return(msg))
            else:
                router.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s",
                                      (f"{iface}.{member} is not implemented by the test backend",)))


# ------------------------------------------------------------------ the stack, for tests

class PortalStack:
    """The test backend plus the real xdg-desktop-portal frontend on ``env``'s session bus."""

    def __init__(self, env: dict[str, str], workdir: Path):
        self.workdir = Path(workdir)
        portals = self.workdir / "share" / "xdg-desktop-portal" / "portals"
        portals.mkdir(parents=True, exist_ok=True)
        (portals / "trayriptest.portal").write_text(
            f"[portal]\nDBusName={BUS_NAME}\nInterfaces={IMPL};\nUseIn={DESKTOP}\n"
        )
        (portals.parent / f"{DESKTOP}-portals.conf").write_text(f"[preferred]\ndefault={DESKTOP}\n")
        self.env = dict(
            env,
            XDG_CURRENT_DESKTOP=DESKTOP,
            XDG_DESKTOP_PORTAL_DIR=str(portals),
            XDG_DATA_DIRS=f"{self.workdir / 'share'}:/usr/share",
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.backend: subprocess.Popen | None = None
        self.frontend: subprocess.Popen | None = None
        self.frontend_log = self.workdir / "xdg-desktop-portal.log"

    def start(self, timeout: float = 15.0) -> "PortalStack":
        if not os.access(FRONTEND, os.X_OK):
            raise RuntimeError(f"{FRONTEND} is missing: apt-get install xdg-desktop-portal")
        self.backend = subprocess.Popen(
            [sys.executable, __file__], env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=open(self.workdir / "portal-backend.log", "w"), text=True, bufsize=1,
        )
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_line("READY", timeout)  # owns BUS_NAME: the frontend's proxy will find it
        self.start_frontend(timeout)
        return self

    def start_frontend(self, timeout: float = 15.0) -> None:
        """Start xdg-desktop-portal (again) and wait until it offers GlobalShortcuts."""
        with open(self.frontend_log, "a") as log:
            self.frontend = subprocess.Popen([FRONTEND, "--verbose", "--replace"], env=self.env,
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.wait_frontend(timeout)

    def kill_frontend(self) -> None:
        """Kill xdg-desktop-portal (a crash: no goodbye) and wait until it is gone."""
        assert self.frontend is not None
        self.frontend.kill()
        self.frontend.wait(10)

    def _read(self) -> None:
        assert self.backend is not None and self.backend.stdout is not None
        for line in self.backend.stdout:
            with self._cond:
                self.lines.append(line.strip())
                self._cond.notify_all()

    def wait_line(self, prefix: str, timeout: float = 15.0, count: int = 1) -> str:
        """The ``count``-th line from the backend starting with ``prefix`` (waits on its output, no polling)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                hits = [line for line in self.lines if line.startswith(prefix)]
                if len(hits) >= count:
                    return hits[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or (self.backend is not None and self.backend.poll() is not None):
                    raise TimeoutError(f"the portal test backend did not say {prefix!r} x{count} within {timeout:g} s;"
                                       f" it said {self.lines}")
                self._cond.wait(min(left, 0.5))

    def wait_frontend(self, timeout: float) -> None:
        """Wait until org.freedesktop.portal.Desktop answers with a GlobalShortcuts version."""
        deadline = time.monotonic() + timeout
        while True:
            proc = subprocess.run(
                ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.portal.Desktop", PORTAL_PATH,
                 "org.freedesktop.DBus.Properties.Get", "string:org.freedesktop.portal.GlobalShortcuts",
                 "string:version"], env=self.env, capture_output=True, text=True, timeout=10,
            )
            if proc.returncode == 0 and "uint32" in proc.stdout:
                return
            if self.frontend is not None and self.frontend.poll() is not None:
                raise RuntimeError(f"xdg-desktop-portal exited with {self.frontend.returncode}:\n"
                                   + self.frontend_log.read_text()[-3000:])
            if time.monotonic() >= deadline:
                raise RuntimeError(f"xdg-desktop-portal offered no GlobalShortcuts within {timeout:g} s "
                                   f"({proc.stderr.strip()}):\n" + self.frontend_log.read_text()[-3000:])
            time.sleep(0.05)

    def activate(self, shortcut_id: str) -> None:
        """Press the shortcut, as the desktop would."""
        self._send(f"activate {shortcut_id}")

    def next_bind(self, code: int, hold: bool = False, trigger: str | None = None) -> None:
        """How the next BindShortcuts is answered, and which trigger it binds (waits for the acknowledgement)."""
        command = f"next-bind {code} {'hold' if hold else 'now'}" + (f" {trigger}" if trigger else "")
        self._send(command)
        self.wait_line(f"OK {command}")

    def change(self, shortcut_id: str, trigger: str) -> None:
        """The user picked ``trigger`` for the shortcut in the desktop's settings (ShortcutsChanged)."""
        command = f"change {shortcut_id} {trigger}"
        self._send(command)
        self.wait_line(f"OK {command}")

    def release(self) -> None:
        """Send the held BindShortcuts answer (the user confirmed)."""
        self._send("release")

    def _send(self, line: str) -> None:
        assert self.backend is not None and self.backend.stdin is not None
        self.backend.stdin.write(line + "\n")
        self.backend.stdin.flush()

    def stop(self) -> None:
        for proc in (self.frontend, self.backend):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        if self.backend is not None and self.backend.stdin is not None:
            self.backend.stdin.close()


if __name__ == "__main__":
    serve()
