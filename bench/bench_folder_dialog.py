#!/usr/bin/env python3
"""How long "Choose folder…" takes to appear the first time (issue 20, defect 3: 25.1 s, later 0.13 s).

    .venv/bin/python bench/bench_folder_dialog.py             # 3 fresh tray apps, then one as before
    .venv/bin/python bench/bench_folder_dialog.py --runs 5 --skip-before

In the test harness (tests/harness.py: Xvfb, a private session bus) with the
StatusNotifier host of tests/sni_host.py, i.e. pystray's ``appindicator``
backend as on xfce4-panel, KDE or GNOME with the AppIndicator extension,
``--runs`` fresh tray apps: what each logs about the dialog built ahead at
start-up (the warm-up thread, then the build in a main-loop idle callback),
and the click on "Choose folder…" (sent over dbusmenu, as the panel does)
until the dialog is on the screen (``xdotool search``), first and second
click (Escape closes it in between). Then one tray app as it was before:
the dialog built at the first click by calling the class from Python (the
bench patches ``FolderDialog`` in that process only): that first click
waits for D-Bus's 25 s timeout (see trayrip/desktop/folder_dialog.py).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from harness import Harness, wait_until  # noqa: E402
from sni_host import SniHost, click, menu_layout  # noqa: E402

# "Before": the dialog built when clicked, by calling the class from Python (the code of the first wave).
BEFORE = textwrap.dedent(
    """
    import sys
    from gi.repository import Gtk
    from trayrip.desktop import folder_dialog as fd

    def class_call(self):
        dialog = Gtk.FileChooserDialog(title=fd.TITLE, action=Gtk.FileChooserAction.SELECT_FOLDER)
        dialog.add_buttons("_Cancel", Gtk.ResponseType.CANCEL, "_Use this folder", Gtk.ResponseType.ACCEPT)
        dialog.connect("response", lambda d, r: (setattr(self, "_dialog", None), d.destroy()))
        return dialog

    fd.FolderDialog._new_dialog = class_call
    fd.FolderDialog.warm = lambda self: None
    from trayrip.cli import main
    sys.exit(main([]))
    """
)


def dialogs(h: Harness) -> list[str]:
    found = h.run(["xdotool", "search", "--onlyvisible", "--name", "^trayrip: folder for recordings$"],
                  check=False, timeout=5)
    return found.stdout.split()


def one_app(h: Harness, work: Path, before: bool = False) -> dict:
    home = work / "home"
    env = dict(h.env, HOME=str(home))
    host = SniHost(env, work)
    argv = [sys.executable, "-c", BEFORE] if before else [sys.executable, "-m", "trayrip"]
    app = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=open(work / "stderr", "w"))
    try:
        host.wait_ready()
        name, path = host.wait_item()

        def log() -> str:
            logs = sorted(home.rglob("trayrip.log"))
            return logs[0].read_text() if logs else ""

        if before:
            wait_until(lambda: "trayrip is running" in log(), 60, "the tray app", 0.02)
            ready = None
        else:
            ready = wait_until(lambda: re.search(r"folder chooser ready: ([\d.]+) s in the background, ([\d.]+) s",
                                                 log()), 60, "the folder chooser built ahead", 0.02)
        clicks = []
        for _ in range(2):
            choose = menu_layout(name, path).find("Settings").find("Output folder").find("Choose folder")
            t0 = time.monotonic()
            click(name, path, choose)
            wait_until(lambda: dialogs(h), 60, "the dialog on the screen", 0.005)
            clicks.append(time.monotonic() - t0)
            h.xdotool("key", "Escape")  # Cancel: the next click builds (or shows) a new one
            wait_until(lambda: not dialogs(h), 10, "the dialog closed", 0.005)
        if ready is None:
            return {"first": clicks[0], "second": clicks[1]}
        return {"background": float(ready.group(1)), "build": float(ready.group(2)), "first": clicks[0],
                "second": clicks[1]}
    finally:
        app.terminate()
        app.wait(20)
        host.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-before", action="store_true", help="skip the old way: it waits for D-Bus's 25 s timeout")
    args = ap.parse_args()
    with Harness() as h, tempfile.TemporaryDirectory() as tmp:
        os.environ["DBUS_SESSION_BUS_ADDRESS"] = h.env["DBUS_SESSION_BUS_ADDRESS"]  # menu_layout, click
        rows = [one_app(h, Path(tempfile.mkdtemp(dir=tmp))) for _ in range(args.runs)]
        for key, what in (("background", "warm-up thread (GIO, fonts)"), ("build", "built ahead (main thread, idle)"),
                          ("first", "first click -> on screen"), ("second", "second click -> on screen")):
            values = [r[key] for r in rows]
            print(f"tray app, {what}: median {statistics.median(values):.3f} s, max {max(values):.3f} s "
                  f"({len(values)} runs)")
        if not args.skip_before:
            old = one_app(h, Path(tempfile.mkdtemp(dir=tmp)), before=True)
            now = statistics.median(r["first"] for r in rows)
            print(f"before (the class called at the first click): first click -> on screen {old['first']:.3f} s "
                  f"= {old['first'] / now:.0f}x now; second click {old['second']:.3f} s")


if __name__ == "__main__":
    main()
