"""The "Choose folder…" dialog (issue 20, defect 3) with a stand-in for GTK: one at a time, sized to the screen,
and its first opening done ahead: the slow part off the main thread, at the lowest priority."""
from __future__ import annotations

import os
import threading
from types import SimpleNamespace

from trayrip.desktop.folder_dialog import FolderDialog, fitting_size


class FakeDialog:
    made: list[FakeDialog] = []

    def __init__(self, title, action):
        self.title, self.shown, self.presented, self.destroyed = title, False, 0, False
        self.size = self.folder = self.handler = None
        FakeDialog.made.append(self)

    def add_buttons(self, *args):
        pass

    def get_screen(self):
        return SimpleNamespace(get_width=lambda: 1024, get_height=lambda: 600)

    def resize(self, w, h):
        assert self.shown, "GTK's file chooser sets its saved size when shown: resize after show"
        self.size = (w, h)

    def set_current_folder(self, path):
        self.folder = path

    def connect(self, signal, handler):
        self.handler = handler

    def show(self):
        self.shown = True

    def present(self):
        self.presented += 1

    def get_filename(self):
        return "/music/new"

    def destroy(self):
        self.destroyed = True


def _not_from_python(*_args, **_kw):
    raise AssertionError("the dialog must be built by GtkBuilder: a class call holds the GIL while GTK runs")


def _builder(ui: str, _length: int):
    assert "GtkFileChooserDialog" in ui and "select-folder" in ui and "trayrip: folder for recordings" in ui
    return SimpleNamespace(get_object=lambda name: FakeDialog("trayrip: folder for recordings", 2))


GTK = SimpleNamespace(FileChooserDialog=_not_from_python, Builder=SimpleNamespace(new_from_string=_builder),
                      FileChooserAction=SimpleNamespace(SELECT_FOLDER=2), ResponseType=SimpleNamespace(CANCEL=0, ACCEPT=1))


def test_a_second_click_raises_the_open_dialog_and_the_size_fits_the_screen(tmp_path):
    FakeDialog.made.clear()
    chosen = []
    dialog = FolderDialog(chosen.append, gtk=GTK)
    dialog.open(tmp_path / "not" / "there")
    dialog.open(tmp_path)
    [made] = FakeDialog.made
    assert made.shown and made.presented == 1, "a second dialog was stacked"
    assert made.folder == str(tmp_path)  # the nearest folder that exists
    assert made.size == (760, 510) and made.size[1] <= 600 * 0.85
    made.handler(made, GTK.ResponseType.ACCEPT)
    assert chosen == ["/music/new"] and made.destroyed
    dialog.open(None)  # closed: the next click opens a new one
    assert len(FakeDialog.made) == 2


def test_fitting_size():
    assert fitting_size((1920, 1080)) == (760, 520)
    assert fitting_size((800, 600)) == (680, 510)


def test_the_first_open_shows_a_dialog_built_ahead_and_the_slow_part_ran_off_the_main_thread(tmp_path):
    FakeDialog.made.clear()
    slow_ran = []
    idle: list = []

    def slow_step():  # stands for GIO's volume monitors / gvfs / fontconfig on a first use
        slow_ran.append((threading.current_thread().name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))

    dialog = FolderDialog(lambda _p: None, gtk=GTK, warm_steps=[slow_step], idle_add=idle.append)
    dialog.warm()
    dialog.warm()  # once
    dialog._warm_thread.join(10)
    assert slow_ran == [("trayrip-dialog-warmup", 19)]  # its own thread, nice 19
    assert not FakeDialog.made  # GTK widgets are built on the main thread only...
    [build] = idle
    assert build() is False  # ...by the low-priority idle callback (once)
    [ahead] = FakeDialog.made
    assert not ahead.shown
    dialog.open(tmp_path)
    assert FakeDialog.made == [ahead] and ahead.shown and ahead.size == (760, 510)  # nothing built at the click
    assert slow_ran == [("trayrip-dialog-warmup", 19)]  # and the slow part not done again


def test_a_click_before_the_warm_up_finished_builds_one_dialog_only(tmp_path):
    FakeDialog.made.clear()
    idle: list = []
    dialog = FolderDialog(lambda _p: None, gtk=GTK, warm_steps=[], idle_add=idle.append)
    dialog.warm()
    dialog._warm_thread.join(10)
    dialog.open(tmp_path)  # the user was quicker than the idle callback
    idle[0]()
    assert len(FakeDialog.made) == 1 and dialog._spare is None


def test_a_failing_warm_up_step_does_not_stop_the_others():
    FakeDialog.made.clear()
    idle: list = []
    ran = []

    def broken():
        raise RuntimeError("no gvfs")

    dialog = FolderDialog(lambda _p: None, gtk=GTK, warm_steps=[broken, lambda: ran.append(1)], idle_add=idle.append)
    dialog.warm()
    dialog._warm_thread.join(10)
    assert ran == [1] and len(idle) == 1
