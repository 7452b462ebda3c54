"""capture/together.py: independent calls run at the same time; every outcome comes back in order."""
from __future__ import annotations

import threading

import pytest

from trayrip.capture.together import together
from trayrip.errors import CaptureError


def test_calls_run_at_the_same_time():
    # Each call waits for all the others: run one after another, the first would never get past the barrier.
    barrier = threading.Barrier(3, timeout=10)
    outcomes = together(*(lambda i=i: (barrier.wait(), i)[1] for i in range(3)))
    assert [o.get() for o in outcomes] == [0, 1, 2]


def test_a_failure_is_handed_back_not_lost_and_the_others_still_finish():
    done = []

    def fails():
        raise CaptureError("pactl failed")

    first, second = together(fails, lambda: done.append(1) or "ok")
    assert second.get() == "ok" and done == [1]
    assert isinstance(first.error, CaptureError)
    with pytest.raises(CaptureError, match="pactl failed"):
        first.get()


def test_nothing_to_run():
    assert together() == []
