"""The tray app's state machine as data: one transition table, pure functions (stdlib only).

Nothing here runs threads or touches devices. The controller thread feeds
:class:`Event` values through :func:`step` and performs the returned
:class:`Action` values; the table below is the only place where the state
changes, and tests exercise it without a display or sound server.

States::

    IDLE ──start──► RECORDING ──stop──► FINISHING ──filed──► IDLE
      │  ▲              ▲  ▲ silence ─┘      │
      │  └──── (any) ──►│ ERROR ◄────────────┘   (start from ERROR/FINISHING allowed)
      └──arm──► ARMED ──sound──┘  (disarm: back to IDLE, nothing filed)

* FINISHING means "the capture is closed and one or more recordings are being
  filed (trim, encode, move)". Filing never blocks a new recording: START in
  FINISHING begins a new one at once, and a filing job that ends while a new
  recording runs leaves the state at RECORDING.
* ERROR is sticky: it shows until the user starts a new recording or
  dismisses it. A failed *filing* job while a newer recording runs does not
  leave RECORDING (the capture is fine); it only notifies.
* ARMED means "the stream is open, nothing is written until the level passes
  the threshold". The recorder reports the sound (SOUND) and, with stop on
  silence, the silence (SILENCE); both come through the controller's queue.
  Disarming (ARM, TOGGLE or STOP while armed) discards the empty capture:
  nothing is filed and nobody is notified.
* SAVE_PREROLL files the pre-roll buffer like a finished recording (one more
  filing job), without touching a recording.
* QUIT never drops audio: a running recording is stopped and filed, and
  :attr:`Action.EXIT` is emitted once nothing is recording or being filed.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace

__all__ = ["State", "Event", "Action", "Machine", "TABLE", "SETTLE", "step"]


class State(str, enum.Enum):
    """What the tray shows."""

    IDLE = "idle"
    ARMED = "armed"
    RECORDING = "recording"
    FINISHING = "finishing"
    ERROR = "error"


class Event(enum.Enum):
    """Inputs of the machine: user commands and outcomes reported back."""

    TOGGLE = "toggle"  # hotkey / default menu item / second instance
    START = "start"
    STOP = "stop"
    DISMISS = "dismiss"  # clear a shown error
    QUIT = "quit"
    CAPTURE_STARTED = "capture_started"  # outcome of BEGIN_CAPTURE
    CAPTURE_FAILED = "capture_failed"  # outcome of BEGIN_CAPTURE
    STREAM_LOST = "stream_lost"  # the running capture died on its own
    FILED = "filed"  # a filing job saved a file
    DISCARDED = "discarded"  # a filing job found nothing captured
    FILING_FAILED = "filing_failed"  # a filing job failed
    FAULT = "fault"  # an unexpected exception in the controller
    ARM = "arm"  # the "Arm" menu item: wait for sound (toggles)
    ARM_STARTED = "arm_started"  # outcome of ARM_CAPTURE
    SOUND = "sound"  # the armed recorder heard sound: it is recording now
    SILENCE = "silence"  # stop on silence: the sound has been gone long enough
    SAVE_PREROLL = "save_preroll"  # "Save last N seconds"


class Action(enum.Enum):
    """Side effects the controller performs, in order."""

    BEGIN_CAPTURE = "begin_capture"  # open the stream; report CAPTURE_STARTED/FAILED
    END_CAPTURE = "end_capture"  # stop the stream (fast), queue filing (pending += 1)
    ARM_CAPTURE = "arm_capture"  # open the stream waiting for sound; report ARM_STARTED/CAPTURE_FAILED
    DISARM = "disarm"  # stop the waiting stream, throw the empty capture away
    SAVE_PREROLL = "save_preroll"  # queue the pre-roll buffer for filing (pending += 1)
    NOTIFY_SAVED = "notify_saved"
    NOTIFY_DISCARDED = "notify_discarded"
    NOTIFY_ERROR = "notify_error"
    EXIT = "exit"  # quitting and nothing left to do


SETTLE = "settle"
"""Next-state marker: IDLE when no filing job is left, else FINISHING."""

_SAME = "same"

S, E, A = State, Event, Action

_START = (_SAME, (A.BEGIN_CAPTURE,))
_END = (S.FINISHING, (A.END_CAPTURE,))
_ARM = (_SAME, (A.ARM_CAPTURE,))
_DISARM = (SETTLE, (A.DISARM,))
_SAVE = (S.FINISHING, (A.SAVE_PREROLL,))

# (state, event) -> (next state | SETTLE | _SAME, actions). Pairs not listed
# are ignored (no change, no action): e.g. STOP while idle, START while recording.
TABLE: dict[tuple[State, Event], tuple[object, tuple[Action, ...]]] = {
    # IDLE
    (S.IDLE, E.TOGGLE): _START,
    (S.IDLE, E.START): _START,
    (S.IDLE, E.CAPTURE_STARTED): (S.RECORDING, ()),
    (S.IDLE, E.CAPTURE_FAILED): (S.ERROR, (A.NOTIFY_ERROR,)),
    (S.IDLE, E.FILED): (SETTLE, (A.NOTIFY_SAVED,)),
    (S.IDLE, E.DISCARDED): (SETTLE, (A.NOTIFY_DISCARDED,)),
    (S.IDLE, E.FILING_FAILED): (S.ERROR, (A.NOTIFY_ERROR,)),
    (S.IDLE, E.FAULT): (S.ERROR, (A.NOTIFY_ERROR,)),
    (S.IDLE, E.QUIT): (_SAME, ()),
    (S.IDLE, E.ARM): _ARM,
    (S.IDLE, E.ARM_STARTED): (S.ARMED, ()),
    (S.IDLE, E.SAVE_PREROLL): _SAVE,
    # ARMED
    (S.ARMED, E.SOUND): (S.RECORDING, ()),
    (S.ARMED, E.ARM): _DISARM,
    (S.ARMED, E.TOGGLE): _DISARM,
    (S.ARMED, E.STOP): _DISARM,
    (S.ARMED, E.QUIT): _DISARM,
    (S.ARMED, E.STREAM_LOST): (S.ERROR, (A.DISARM, A.NOTIFY_ERROR)),
    (S.ARMED, E.FAULT): (S.ERROR, (A.DISARM, A.NOTIFY_ERROR)),
    (S.ARMED, E.FILED): (_SAME, (A.NOTIFY_SAVED,)),  # an earlier recording
    (S.ARMED, E.DISCARDED): (_SAME, (A.NOTIFY_DISCARDED,)),
    (S.ARMED, E.FILING_FAILED): (_SAME, (A.NOTIFY_ERROR,)),
    # RECORDING
    (S.RECORDING, E.TOGGLE): _END,
    (S.RECORDING, E.STOP): _END,
    (S.RECORDING, E.QUIT): _END,
    (S.RECORDING, E.STREAM_LOST): (S.ERROR, (A.END_CAPTURE, A.NOTIFY_ERROR)),
    (S.RECORDING, E.FAULT): (S.ERROR, (A.END_CAPTURE, A.NOTIFY_ERROR)),
    (S.RECORDING, E.FILED): (_SAME, (A.NOTIFY_SAVED,)),  # an earlier recording
    (S.RECORDING, E.DISCARDED): (_SAME, (A.NOTIFY_DISCARDED,)),
    (S.RECORDING, E.FILING_FAILED): (_SAME, (A.NOTIFY_ERROR,)),  # keep recording
    (S.RECORDING, E.SILENCE): _END,
    # FINISHING
    (S.FINISHING, E.TOGGLE): _START,
    (S.FINISHING, E.START): _START,
    (S.FINISHING, E.CAPTURE_STARTED): (S.RECORDING, ()),
    (S.FINISHING, E.CAPTURE_FAILED): (S.ERROR, (A.NOTIFY_ERROR,)),
    (S.FINISHING, E.FILED): (SETTLE, (A.NOTIFY_SAVED,)),
    (S.FINISHING, E.DISCARDED): (SETTLE, (A.NOTIFY_DISCARDED,)),
    (S.FINISHING, E.FILING_FAILED): (S.ERROR, (A.NOTIFY_ERROR,)),
    (S.FINISHING, E.FAULT): (S.ERROR, (A.NOTIFY_ERROR,)),
    (S.FINISHING, E.QUIT): (_SAME, ()),
    (S.FINISHING, E.ARM): _ARM,
    (S.FINISHING, E.ARM_STARTED): (S.ARMED, ()),
    (S.FINISHING, E.SAVE_PREROLL): _SAVE,
    # ERROR
    (S.ERROR, E.TOGGLE): _START,
    (S.ERROR, E.START): _START,
    (S.ERROR, E.DISMISS): (SETTLE, ()),
    (S.ERROR, E.CAPTURE_STARTED): (S.RECORDING, ()),
    (S.ERROR, E.CAPTURE_FAILED): (_SAME, (A.NOTIFY_ERROR,)),
    (S.ERROR, E.FILED): (_SAME, (A.NOTIFY_SAVED,)),
    (S.ERROR, E.DISCARDED): (_SAME, (A.NOTIFY_DISCARDED,)),
    (S.ERROR, E.FILING_FAILED): (_SAME, (A.NOTIFY_ERROR,)),
    (S.ERROR, E.FAULT): (_SAME, (A.NOTIFY_ERROR,)),
    (S.ERROR, E.QUIT): (_SAME, ()),
    (S.ERROR, E.ARM): _ARM,
    (S.ERROR, E.ARM_STARTED): (S.ARMED, ()),
}

_JOB_ENDS = frozenset({E.FILED, E.DISCARDED, E.FILING_FAILED})
_STARTS = frozenset({E.TOGGLE, E.START, E.ARM, E.SAVE_PREROLL})
_NEW_JOBS = frozenset({A.END_CAPTURE, A.SAVE_PREROLL})


@dataclass(frozen=True)
class Machine:
    """The whole state: what is shown, how many filing jobs run, whether we are quitting."""

    state: State = State.IDLE
    pending: int = 0
    quitting: bool = False
    exited: bool = False


def step(machine: Machine, event: Event) -> tuple[Machine, tuple[Action, ...]]:
    """Apply one event; return the new machine and the actions to perform, in order."""
    if machine.exited:
        return machine, ()
    quitting = machine.quitting or event is E.QUIT
    if machine.quitting and event in _STARTS and machine.state is not S.ARMED:
        return machine, ()  # no new recordings once Quit was chosen (disarming is still allowed)
    rule = TABLE.get((machine.state, event))
    if rule is None:
        return machine, ()
    target, actions = rule
    pending = machine.pending
    if event in _JOB_ENDS:
        pending = max(0, pending - 1)
    pending += sum(1 for a in actions if a in _NEW_JOBS)
    if target is _SAME:
        state = machine.state
    elif target is SETTLE:
        state = S.IDLE if pending == 0 else S.FINISHING
    else:
        state = target
    return _exit_if_done(Machine(state, pending, quitting), actions)


def _exit_if_done(machine: Machine, actions: tuple[Action, ...]) -> tuple[Machine, tuple[Action, ...]]:
    if machine.quitting and machine.pending == 0 and machine.state not in (S.RECORDING, S.ARMED):
        return replace(machine, exited=True), actions + (A.EXIT,)
    return machine, actions
