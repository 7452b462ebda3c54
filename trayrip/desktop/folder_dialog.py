"""The "Choose folder…" dialog of the GTK tray backends (main thread: GTK's loop).

One dialog at a time: a second click brings the open one to the front rather
than stacking another. Its size fits the screen (GTK's file chooser asked for
1096×822 on an 800-px-high screen, its buttons cut off).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

__all__ = ["FolderDialog", "fitting_size"]

log = logging.getLogger(__name__)

_WANTED = (760, 520)  # pixels: enough for the folder list and the buttons


def fitting_size(screen: tuple[int, int], wanted: tuple[int, int] = _WANTED) -> tuple[int, int]:
    """The dialog's size: ``wanted``, but at most 85 % of the screen's width and height."""
    return min(wanted[0], int(screen[0] * 0.85)), min(wanted[1], int(screen[1] * 0.85))


class FolderDialog:
    """A non-modal folder chooser; ``on_chosen(path)`` gets the folder the user accepts."""

    def __init__(self, on_chosen: Callable[[str], None], gtk: Any = None):
        self._on_chosen = on_chosen
        self._gtk = gtk
        self._dialog: Any = None

    def open(self, start: Path | None) -> None:
        """Show the dialog at ``start`` (the nearest existing folder), or raise the one already open."""
        if self._dialog is not None:
            self._dialog.present()
            return
        Gtk = self._gtk
        if Gtk is None:
            from gi.repository import Gtk  # noqa: N813 (GTK's own name)
        dialog = Gtk.FileChooserDialog(title="trayrip: folder for recordings", action=Gtk.FileChooserAction.SELECT_FOLDER)
        dialog.add_buttons("_Cancel", Gtk.ResponseType.CANCEL, "_Use this folder", Gtk.ResponseType.ACCEPT)
        screen = dialog.get_screen()
        size = fitting_size((screen.get_width(), screen.get_height()))
        start = start or Path.home()
        while not start.is_dir() and start != start.parent:
            start = start.parent
        dialog.set_current_folder(str(start))

        def on_response(d, response) -> None:
            try:
                if response == Gtk.ResponseType.ACCEPT and d.get_filename():
                    self._on_chosen(d.get_filename())
            finally:
                self._dialog = None
                d.destroy()

        dialog.connect("response", on_response)
        self._dialog = dialog
        dialog.show()
        dialog.resize(*size)  # after show: the file chooser restores its saved size (GSettings) when shown
