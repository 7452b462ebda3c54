"""The "Choose folder…" dialog of the GTK tray backends (main thread: GTK's loop).

One dialog at a time: a second click brings the open one to the front rather
than stacking another. Its size fits the screen (GTK's file chooser asked for
1096×822 on an 800-px-high screen, its buttons cut off).

The first opening took 25.1 s (issue 20, defect 3; later ones 0.13 s) on
StatusNotifier trays. The cause: pystray's ``appindicator`` backend shares
the process's session-bus connection, and the tray adds a Python filter to it
(``tray._answer_sni_activate``: a left click on the icon). Calling
``Gtk.FileChooserDialog(...)`` from Python keeps the GIL while GTK builds it,
and GTK's first file chooser makes a synchronous call on that connection;
GDBus's thread runs every message through the Python filter, which waited
for the GIL, while the main thread waited for the reply: 25 s, until D-Bus
gave up (measured in the harness: 25.1 s; without the filter 0.03 s). Later
dialogs skip that call, hence 0.13 s. So the dialog is built by GtkBuilder
(a function call: PyGObject lets go of the GIL while GTK runs).

And it is built ahead: :meth:`FolderDialog.warm`, called once the tray runs,
does the first file chooser's one-time GIO and font work (volume monitors,
``trash:///`` and ``recent:///`` -- with gvfs these are D-Bus services started
on demand --, fontconfig: a tray on a StatusNotifier host never draws text
itself) on the ``trayrip-dialog-warmup`` thread at the lowest CPU priority
(those libraries are thread-safe), then builds the dialog on the main thread
in a low-priority idle callback and keeps it hidden, so the first click only
shows it (bench/bench_folder_dialog.py: 0.03 s from the click to the screen).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable

__all__ = ["FolderDialog", "fitting_size", "warm_gio_and_fonts"]

log = logging.getLogger(__name__)

_WANTED = (760, 520)  # pixels: enough for the folder list and the buttons
TITLE = "trayrip: folder for recordings"
_UI = f"""<interface>
  <object class="GtkFileChooserDialog" id="dialog">
    <property name="title">{TITLE}</property>
    <property name="action">select-folder</property>
  </object>
</interface>"""


def fitting_size(screen: tuple[int, int], wanted: tuple[int, int] = _WANTED) -> tuple[int, int]:
    """The dialog's size: ``wanted``, but at most 85 % of the screen's width and height."""
    return min(wanted[0], int(screen[0] * 0.85)), min(wanted[1], int(screen[1] * 0.85))


def warm_gio_and_fonts() -> None:
    """The file chooser's first-use work that may run off the main thread (the warm-up thread).

    GIO's volume monitor (its signals go to the global main context, GTK's
    loop, because this thread has no context of its own), the virtual file
    system behind ``trash:///`` and ``recent:///`` (the sidebar's places), and
    fontconfig's configuration and caches (global to the process; Pango's
    font map of this thread loads them).
    """
    import gi

    from gi.repository import Gio, GLib

    Gio.VolumeMonitor.get().get_mounts()
    for uri in ("trash:///", "recent:///"):
        try:
            Gio.File.new_for_uri(uri).query_info("standard::type", Gio.FileQueryInfoFlags.NONE, None)
        except GLib.Error as exc:  # no gvfs: the sidebar does without these places
            log.debug("folder chooser warm-up: %s: %s", uri, exc.message)
    gi.require_version("PangoCairo", "1.0")
    from gi.repository import PangoCairo

    PangoCairo.FontMap.get_default().list_families()


def _lowest_priority() -> None:
    """Nice 19 for the calling thread only (Linux: a thread's id is a process id for setpriority)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError) as exc:
        log.debug("folder chooser warm-up keeps its priority: %s", exc)


def _glib_idle_low(fn: Callable[[], Any]) -> None:
    from gi.repository import GLib

    GLib.idle_add(fn, priority=GLib.PRIORITY_LOW)


class FolderDialog:
    """A non-modal folder chooser; ``on_chosen(path)`` gets the folder the user accepts.

    ``gtk``, ``warm_steps`` and ``idle_add`` are GTK, the background warm-up
    work and GLib's low-priority idle scheduling, replaced in unit tests.
    """

    def __init__(
        self,
        on_chosen: Callable[[str], None],
        gtk: Any = None,
        *,
        warm_steps: Iterable[Callable[[], None]] = (warm_gio_and_fonts,),
        idle_add: Callable[[Callable[[], Any]], None] = _glib_idle_low,
    ):
        self._on_chosen = on_chosen
        self._gtk = gtk
        self._warm_steps = tuple(warm_steps)
        self._idle_add = idle_add
        self._dialog: Any = None  # the one shown
        self._spare: Any = None  # built ahead, hidden until the first click
        self._warm_thread: threading.Thread | None = None

    # -- start-up (any thread, then the warm-up thread, then main) ---------------------------
    def warm(self) -> None:
        """Do the first opening's slow part now, in the background (returns at once; once)."""
        if self._warm_thread is None:
            self._warm_thread = threading.Thread(target=self._warm, name="trayrip-dialog-warmup", daemon=True)
            self._warm_thread.start()

    def _warm(self) -> None:  # trayrip-dialog-warmup thread
        _lowest_priority()
        t0 = time.monotonic()
        for step in self._warm_steps:
            try:
                step()
            except Exception as exc:  # a warm-up that fails costs the first click its time, nothing else
                log.info("folder chooser warm-up: %s", exc)
        background = time.monotonic() - t0
        self._idle_add(lambda: self._build_spare(background))

    def _build_spare(self, background: float) -> bool:  # main thread, low-priority idle
        if self._dialog is None and self._spare is None:
            t0 = time.monotonic()
            try:
                self._spare = self._new_dialog()
            except Exception:
                log.exception("building the folder chooser ahead failed (it is built when asked for)")
                return False
            log.info("folder chooser ready: %.2f s in the background, %.2f s to build it", background,
                     time.monotonic() - t0)
        return False  # once

    # -- main thread ---------------------------------------------------------------------
    def open(self, start: Path | None) -> None:
        """Show the dialog at ``start`` (the nearest existing folder), or raise the one already open."""
        if self._dialog is not None:
            self._dialog.present()
            log.info("folder chooser raised (it is open)")
            return
        t0 = time.monotonic()
        dialog, ahead = (self._spare, True) if self._spare is not None else (self._new_dialog(), False)
        self._spare = None
        screen = dialog.get_screen()
        size = fitting_size((screen.get_width(), screen.get_height()))
        start = start or Path.home()
        while not start.is_dir() and start != start.parent:
            start = start.parent
        dialog.set_current_folder(str(start))
        self._dialog = dialog
        dialog.show()
        dialog.resize(*size)  # after show: the file chooser restores its saved size (GSettings) when shown
        log.info("folder chooser shown in %.3f s (%s)", time.monotonic() - t0,
                 "built ahead" if ahead else "built now")

    def _new_dialog(self) -> Any:
        Gtk = self._gtk
        if Gtk is None:
            from gi.repository import Gtk  # noqa: N813 (GTK's own name)
        # Not Gtk.FileChooserDialog(...): that holds the GIL while GTK runs, and GTK's first file
        # chooser then waits 25 s for the session bus (see the module docstring).
        dialog = Gtk.Builder.new_from_string(_UI, -1).get_object("dialog")
        dialog.add_buttons("_Cancel", Gtk.ResponseType.CANCEL, "_Use this folder", Gtk.ResponseType.ACCEPT)

        def on_response(d, response) -> None:
            log.info("folder chooser closed (%s)", getattr(response, "value_nick", response))
            try:
                if response == Gtk.ResponseType.ACCEPT and d.get_filename():
                    self._on_chosen(d.get_filename())
            finally:
                self._dialog = None
                d.destroy()

        dialog.connect("response", on_response)
        return dialog
