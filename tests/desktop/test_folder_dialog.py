"""The "Choose folder…" dialog (issue 20, defect 3) with a stand-in for GTK: one at a time, sized to the screen."""
from __future__ import annotations

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


GTK = SimpleNamespace(FileChooserDialog=FakeDialog, FileChooserAction=SimpleNamespace(SELECT_FOLDER=2),
                      ResponseType=SimpleNamespace(CANCEL=0, ACCEPT=1))


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
