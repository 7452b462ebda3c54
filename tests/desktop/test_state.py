"""The tray app's transition table, as pure functions (no threads, no display)."""
from __future__ import annotations

import random

import pytest

from trayrip.desktop.state import TABLE, Action, Event, Machine, State, step

S, E, A = State, Event, Action


def run(events, machine=None):
    """Feed events; return (machine, [actions per event])."""
    m = machine or Machine()
    out = []
    for ev in events:
        m, actions = step(m, ev)
        out.append(actions)
    return m, out


def test_record_stop_file_happy_path():
    m, acts = run([E.TOGGLE])
    assert (m.state, acts[-1]) == (S.IDLE, (A.BEGIN_CAPTURE,))
    m, acts = run([E.CAPTURE_STARTED], m)
    assert m.state is S.RECORDING and acts == [()]
    m, acts = run([E.TOGGLE], m)
    assert (m.state, m.pending, acts[-1]) == (S.FINISHING, 1, (A.END_CAPTURE,))
    m, acts = run([E.FILED], m)
    assert (m.state, m.pending, acts[-1]) == (S.IDLE, 0, (A.NOTIFY_SAVED,))


def test_explicit_start_and_stop_are_idempotent():
    m, acts = run([E.START, E.CAPTURE_STARTED, E.START])
    assert m.state is S.RECORDING and acts[-1] == ()  # START while recording: nothing
    m, acts = run([E.STOP, E.STOP], m)
    assert m.state is S.FINISHING and acts == [(A.END_CAPTURE,), ()]
    assert m.pending == 1


def test_a_new_recording_starts_while_the_last_one_is_filed():
    m, _ = run([E.TOGGLE, E.CAPTURE_STARTED, E.TOGGLE])
    assert m.state is S.FINISHING
    m, acts = run([E.TOGGLE], m)
    assert acts[-1] == (A.BEGIN_CAPTURE,)
    m, _ = run([E.CAPTURE_STARTED], m)
    assert (m.state, m.pending) == (S.RECORDING, 1)
    # the earlier job ends while the new recording runs: still recording
    m, acts = run([E.FILED], m)
    assert (m.state, m.pending, acts[-1]) == (S.RECORDING, 0, (A.NOTIFY_SAVED,))
    m, _ = run([E.TOGGLE, E.FILED], m)
    assert (m.state, m.pending) == (S.IDLE, 0)


def test_finishing_stays_until_every_job_is_done():
    m, _ = run([E.TOGGLE, E.CAPTURE_STARTED, E.TOGGLE, E.TOGGLE, E.CAPTURE_STARTED, E.TOGGLE])
    assert (m.state, m.pending) == (S.FINISHING, 2)
    m, _ = run([E.FILED], m)
    assert (m.state, m.pending) == (S.FINISHING, 1)
    m, _ = run([E.DISCARDED], m)
    assert (m.state, m.pending) == (S.IDLE, 0)


def test_failed_filing_during_a_new_recording_does_not_leave_recording():
    m, _ = run([E.TOGGLE, E.CAPTURE_STARTED, E.TOGGLE, E.TOGGLE, E.CAPTURE_STARTED])
    m, acts = run([E.FILING_FAILED], m)
    assert (m.state, m.pending, acts[-1]) == (S.RECORDING, 0, (A.NOTIFY_ERROR,))


@pytest.mark.parametrize(
    "events, final, last_actions",
    [
        ([E.TOGGLE, E.CAPTURE_FAILED], S.ERROR, (A.NOTIFY_ERROR,)),
        ([E.TOGGLE, E.CAPTURE_STARTED, E.STREAM_LOST], S.ERROR, (A.END_CAPTURE, A.NOTIFY_ERROR)),
        ([E.TOGGLE, E.CAPTURE_STARTED, E.FAULT], S.ERROR, (A.END_CAPTURE, A.NOTIFY_ERROR)),
        ([E.TOGGLE, E.CAPTURE_STARTED, E.TOGGLE, E.FILING_FAILED], S.ERROR, (A.NOTIFY_ERROR,)),
        ([E.FAULT], S.ERROR, (A.NOTIFY_ERROR,)),
    ],
)
def test_error_is_reachable(events, final, last_actions):
    m, acts = run(events)
    assert m.state is final and acts[-1] == last_actions


def test_error_is_reachable_from_every_state():
    reach = {s for (s, e), (target, _) in TABLE.items() if target is S.ERROR}
    reach |= {S.ERROR}
    assert reach == set(State)


def test_a_lost_stream_still_files_what_was_captured():
    m, _ = run([E.TOGGLE, E.CAPTURE_STARTED, E.STREAM_LOST])
    assert (m.state, m.pending) == (S.ERROR, 1)
    m, acts = run([E.FILED], m)  # the partial file: still showing the error
    assert (m.state, m.pending, acts[-1]) == (S.ERROR, 0, (A.NOTIFY_SAVED,))


def test_error_is_sticky_until_dismissed_or_a_new_start():
    m, _ = run([E.TOGGLE, E.CAPTURE_FAILED, E.STOP])
    assert m.state is S.ERROR
    m2, _ = run([E.DISMISS], m)
    assert m2.state is S.IDLE
    m3, acts = run([E.TOGGLE], m)
    assert acts[-1] == (A.BEGIN_CAPTURE,)
    m3, _ = run([E.CAPTURE_STARTED], m3)
    assert m3.state is S.RECORDING


def test_dismiss_with_a_job_running_goes_to_finishing():
    m, _ = run([E.TOGGLE, E.CAPTURE_STARTED, E.STREAM_LOST, E.DISMISS])
    assert (m.state, m.pending) == (S.FINISHING, 1)


def test_quit_when_idle_exits_at_once():
    m, acts = run([E.QUIT])
    assert m.exited and acts[-1] == (A.EXIT,)


def test_quit_finishes_the_recording_first():
    m, acts = run([E.TOGGLE, E.CAPTURE_STARTED, E.QUIT])
    assert (m.state, m.pending, m.quitting, m.exited) == (S.FINISHING, 1, True, False)
    assert acts[-1] == (A.END_CAPTURE,)
    m, acts = run([E.TOGGLE, E.START], m)  # no new recording once Quit was chosen
    assert acts == [(), ()] and m.state is S.FINISHING
    m, acts = run([E.FILED], m)
    assert m.exited and acts[-1] == (A.NOTIFY_SAVED, A.EXIT)


def test_quit_waits_for_every_pending_job_even_in_error():
    m, _ = run([E.TOGGLE, E.CAPTURE_STARTED, E.STREAM_LOST, E.QUIT])
    assert not m.exited
    m, acts = run([E.FILING_FAILED], m)
    assert m.exited and acts[-1] == (A.NOTIFY_ERROR, A.EXIT)


def test_nothing_happens_after_exit():
    m, _ = run([E.QUIT])
    for ev in Event:
        m2, acts = step(m, ev)
        assert m2 == m and acts == ()


def test_unlisted_pairs_are_ignored():
    for state in State:
        for ev in Event:
            if (state, ev) in TABLE:
                continue
            m = Machine(state, pending=1)
            assert step(m, ev) == (m, ())


def test_begin_is_never_asked_while_recording_and_end_only_while_recording():
    for (state, ev), (_, actions) in TABLE.items():
        if A.BEGIN_CAPTURE in actions:
            assert state is not S.RECORDING
        if A.END_CAPTURE in actions:
            assert state is S.RECORDING
        if A.ARM_CAPTURE in actions:
            assert state not in (S.RECORDING, S.ARMED)
        if A.DISARM in actions:
            assert state is S.ARMED


def test_random_walks_keep_the_invariants():
    rng = random.Random(1234)
    events = list(Event)
    for _ in range(300):
        m = Machine()
        capturing = False  # what the controller would have: a running capture (armed or recording)
        for _ in range(40):
            ev = rng.choice(events)
            # the controller only reports capture outcomes right after BEGIN_CAPTURE / ARM_CAPTURE
            if ev in (E.CAPTURE_STARTED, E.CAPTURE_FAILED, E.ARM_STARTED):
                continue
            m, actions = step(m, ev)
            for a in actions:
                if a in (A.BEGIN_CAPTURE, A.ARM_CAPTURE):
                    assert not capturing
                    ok = E.CAPTURE_STARTED if a is A.BEGIN_CAPTURE else E.ARM_STARTED
                    m, follow = step(m, rng.choice([ok, E.CAPTURE_FAILED]))
                    capturing = m.state in (S.RECORDING, S.ARMED)
                    assert A.EXIT not in follow or not capturing
                if a is A.END_CAPTURE:
                    assert capturing and ev is not E.SOUND
                    capturing = False
                if a is A.DISARM:
                    assert capturing
                    capturing = False
            assert m.pending >= 0
            assert (m.state in (S.RECORDING, S.ARMED)) == capturing
            if m.exited:
                assert m.pending == 0 and not capturing


def test_arm_waits_then_sound_records_and_silence_stops():
    m, acts = run([E.ARM])
    assert (m.state, acts[-1]) == (S.IDLE, (A.ARM_CAPTURE,))
    m, acts = run([E.ARM_STARTED], m)
    assert m.state is S.ARMED and acts == [()]
    m, acts = run([E.SILENCE, E.START], m)  # no silence stop before the sound; START does not skip the wait
    assert m.state is S.ARMED and acts == [(), ()]
    m, acts = run([E.SOUND], m)
    assert m.state is S.RECORDING and acts == [()]
    m, acts = run([E.SILENCE], m)
    assert (m.state, m.pending, acts[-1]) == (S.FINISHING, 1, (A.END_CAPTURE,))
    m, acts = run([E.SILENCE, E.SOUND], m)  # late reports of the ended recording are ignored
    assert m.state is S.FINISHING and acts == [(), ()]


@pytest.mark.parametrize("ev", [E.ARM, E.TOGGLE, E.STOP])
def test_disarming_files_nothing(ev):
    m, acts = run([E.ARM, E.ARM_STARTED, ev])
    assert (m.state, m.pending, acts[-1]) == (S.IDLE, 0, (A.DISARM,))


def test_arm_failure_is_an_error():
    m, acts = run([E.ARM, E.CAPTURE_FAILED])
    assert (m.state, acts[-1]) == (S.ERROR, (A.NOTIFY_ERROR,))


def test_quit_while_armed_disarms_and_exits():
    m, acts = run([E.ARM, E.ARM_STARTED, E.QUIT])
    assert m.exited and acts[-1] == (A.DISARM, A.EXIT)


def test_lost_stream_while_armed():
    m, acts = run([E.ARM, E.ARM_STARTED, E.STREAM_LOST])
    assert (m.state, m.pending, acts[-1]) == (S.ERROR, 0, (A.DISARM, A.NOTIFY_ERROR))


def test_save_preroll_is_a_filing_job_and_not_while_recording():
    m, acts = run([E.SAVE_PREROLL])
    assert (m.state, m.pending, acts[-1]) == (S.FINISHING, 1, (A.SAVE_PREROLL,))
    m, acts = run([E.FILED], m)
    assert (m.state, m.pending) == (S.IDLE, 0)
    m, acts = run([E.TOGGLE, E.CAPTURE_STARTED, E.SAVE_PREROLL])
    assert m.state is S.RECORDING and acts[-1] == ()
