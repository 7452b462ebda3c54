"""When the pipe reader pauses: twice a second in real time, never while a server catches up after a stall."""
from __future__ import annotations

from trayrip.capture.read_pace import CATCH_UP_SPAN, KEEP_ON, STALLED_AFTER, ReadPace

SECOND = 48000 * 4  # bytes of 48 kHz 16-bit stereo


def test_real_time_reads_may_pause():
    pace = ReadPace(SECOND)
    assert pace.may_pause(SECOND // 2, 0.0, 0.3)  # the first read waits for the stream to start: no backlog
    t = 0.3
    for _ in range(10):  # half a second of audio every half second, with a little jitter
        began, t = t + 0.5, t + 0.52
        assert pace.may_pause(int(SECOND * 0.52), began, t)


def test_after_a_stall_the_reader_reads_on_without_pausing_until_the_catch_up_is_over():
    pace = ReadPace(SECOND)
    assert pace.may_pause(SECOND // 2, 0.0, 0.5)
    # the server stops: the next read waits 6 s for its first byte (one cycle)
    assert not pace.may_pause(8192, 1.0, 7.0)
    # the catch-up: a few cycles at first, then seconds within milliseconds
    t = 7.0
    for nbytes in (8192, 8192, 4 * SECOND, 2 * SECOND):
        t += 0.01
        assert not pace.may_pause(nbytes, t - 0.001, t)
    # real time again: one cycle per cycle; pausing resumes once the span after the stall has passed
    cycle = 1024 * 4
    while t + cycle / SECOND < 7.0 + CATCH_UP_SPAN:
        t += cycle / SECOND
        assert not pace.may_pause(cycle, t - cycle / SECOND, t)
    t += cycle / SECOND
    assert pace.may_pause(cycle, t - cycle / SECOND, t)


def test_a_long_catch_up_keeps_the_reader_going_past_the_span():
    pace = ReadPace(SECOND)
    pace.may_pause(8192, 0.0, 0.1)
    stalled = STALLED_AFTER + 0.05
    assert not pace.may_pause(8192, 0.2, 0.2 + stalled)
    t = 0.2 + stalled + CATCH_UP_SPAN
    assert not pace.may_pause(8192, t - 0.02, t - 0.01)  # the span's last read
    assert not pace.may_pause(SECOND, t, t + 0.05)  # a second of audio in 60 ms: still catching up
    t += 0.05
    assert not pace.may_pause(SECOND // 40, t, t + 0.04)  # one slow write (25 ms of audio in 40 ms) ...
    t += 0.04
    assert not pace.may_pause(SECOND, t, t + 0.01)  # ... and the catch-up goes on
    t += 0.01
    # real time again: the reader pauses once reads have brought no more than real time for KEEP_ON
    end = t + KEEP_ON
    while t + 0.1 < end:
        assert not pace.may_pause(SECOND // 10, t, t + 0.1)
        t += 0.1
    t = end + 0.01
    assert pace.may_pause(SECOND // 100, t - 0.01, t)


def test_a_wait_shorter_than_a_stall_changes_nothing():
    pace = ReadPace(SECOND)
    pace.may_pause(SECOND // 2, 0.0, 0.5)
    assert pace.may_pause(SECOND // 2, 1.0 - STALLED_AFTER / 2, 1.0)
