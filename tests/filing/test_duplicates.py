"""The index of what is already in the folder tree, and the duplicates setting."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from trayrip.filing.duplicates import Existing, LibraryIndex, decide, normalise
from trayrip.filing.tags import Tags, write_tags


def test_normalise_ignores_case_accents_punctuation_and_spacing():
    assert normalise("Beyoncé", "Halo!") == normalise("beyonce", "  halo ")
    assert normalise("AC/DC", "T.N.T.") == normalise("ac dc", "t n t")
    assert normalise("A", "B C") != normalise("A B", "C")


def test_index_from_tags_and_names(tmp_path):
    deep = tmp_path / "2024-05-01 LP"
    deep.mkdir()
    tagged = deep / "whatever.flac"
    sf.write(str(tagged), np.zeros((48000 * 3, 2)), 48000)
    write_tags(tagged, "flac", Tags(title="Alpha", artist="Ann"))
    named = deep / "02 Bob - Beta (partial).wav"
    sf.write(str(named), np.zeros((48000 * 2, 2)), 48000, subtype="PCM_16")
    (tmp_path / ".hidden").mkdir()
    sf.write(str(tmp_path / ".hidden" / "03 Cy - Gamma.wav"), np.zeros((480, 2)), 48000)
    index = LibraryIndex.build(tmp_path)
    alpha = index.find("ANN", "alpha")
    assert [e.path for e in alpha] == [tagged] and alpha[0].seconds == pytest.approx(3.0) and alpha[0].ours
    assert [e.path for e in index.find("Bob", "Beta")] == [named]
    assert index.find("Cy", "Gamma") == []


def test_decide():
    short, long_ = Existing("a", 100.0, True), Existing("b", 200.0, False)
    assert decide("keep-both", [short], 150.0) == (True, [])
    assert decide("skip", [short], 150.0) == (False, [])
    assert decide("skip", [], 150.0) == (True, [])
    assert decide("keep-longer", [short], 150.0) == (True, [short])  # ours and shorter: replaced
    assert decide("keep-longer", [short, long_], 150.0) == (False, [])
    assert decide("keep-longer", [Existing("c", 100.0, False)], 150.0) == (True, [])  # not ours: both kept
    with pytest.raises(ValueError):
        decide("newest", [], 1.0)
