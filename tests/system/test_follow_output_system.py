"""Following the default output on the real servers (issue 22, item 1).

The three-tone scenario a user makes by plugging in headphones and pulling
them out again: tone A on "speakers" (the harness's default sink), then
``pactl set-default-sink headphones`` and tone B on the headphones, then the
headphones' sink removed and tone C on the speakers again. Each tone has its
own frequency, and each must be at least 90 % present in the one filed file:
a switch may cost at most 0.3 s of a 3 s tone. The file must also not be
longer than what was played plus the pads (a switch is filled with the gap
itself, not more), and the 440 Hz decoy source must not be in it.
"""
from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pytest

import audio_tools as at
from recorder_tools import finish, start_record, wait_for_audio, wait_for_capture_file

pytestmark = pytest.mark.both_servers

TONE = 3.0
FREQS = {"A": 700.0, "B": 1100.0, "C": 1700.0}
PRESENT = 0.9
PADS = 0.1 + 0.3  # the default trim pads (before, after)
HEADPHONES = "headphones"
# As a media player asks (paplay's own 2 s would let a null sink render B's first 2 s before anyone
# could be listening to the headphones' monitor: see harness.play).
PLAYER_LATENCY = 50


def tone_seconds(data: np.ndarray, rate: int, freq: float, window: float = 0.02) -> float:
    """Seconds of ``data`` in which ``freq`` is the dominant frequency and clearly audible."""
    x = at.to_mono(data)
    n = int(window * rate)
    frames = x[: len(x) // n * n].reshape(-1, n)
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(n), axis=1))
    peak = np.fft.rfftfreq(n, 1 / rate)[spectrum.argmax(axis=1)]
    loud = 20 * np.log10(np.sqrt((frames ** 2).mean(axis=1)) + 1e-12) > -30
    return float(np.count_nonzero(loud & (np.abs(peak - freq) < 2 * rate / n))) * window


def write_tones(tmp_path: Path) -> dict[str, Path]:
    return {k: at.write_wav(tmp_path / f"tone-{k}.wav", at.tone(f, TONE, amplitude=0.4)) for k, f in FREQS.items()}


def play_switch_and_unplug(harness, tones: dict[str, Path], before_unplug=None) -> float:
    """Tone A on the speakers, B on the new default (headphones), C after the headphones went away.

    Returns the wall-clock seconds from A's start to C's end. ``before_unplug`` runs between B and
    the unplugging (the pre-roll test starts its recording there).
    """
    module = harness.add_sink(HEADPHONES)
    try:
        assert harness.default_sink() == harness.sink
        t0 = time.monotonic()
        harness.play(tones["A"], latency_msec=PLAYER_LATENCY)
        harness.pactl("set-default-sink", HEADPHONES)
        harness.play(tones["B"], device=HEADPHONES, latency_msec=PLAYER_LATENCY)
        if before_unplug is not None:
            before_unplug()
    finally:
        harness.remove_sink(module)
    assert harness.default_sink() == harness.sink
    harness.play(tones["C"], latency_msec=PLAYER_LATENCY)
    return time.monotonic() - t0


def check_three_tones(path: Path, played_for: float) -> None:
    data, rate = at.read_audio(path)
    found = {k: tone_seconds(data, rate, f) for k, f in FREQS.items()}
    for k, seconds in found.items():
        assert seconds >= PRESENT * TONE, f"tone {k} only {seconds:.2f} s of {TONE} s in the file: {found}"
    assert at.band_level_db(data, 440, rate) < -30, "the decoy 440 Hz default source was recorded"
    # A switch is filled with the time it took, no more: the file is not longer than what was played.
    assert len(data) / rate <= played_for + PADS + 0.25, (len(data) / rate, played_for)


@pytest.fixture
def tones(tmp_path):
    return write_tones(tmp_path)


@pytest.fixture(autouse=True)
def _speakers_again(harness):
    yield
    # Also when the speakers are the default already: PulseAudio remembers "headphones" as the
    # configured default and would make a new sink of that name the default at once.
    if harness.pulse_ready():
        harness.pactl("set-default-sink", harness.sink)


def test_a_recording_follows_the_default_output(harness, user_env, tmp_path, tones):
    folder = tmp_path / "out"
    proc = start_record(user_env, "--folder", str(folder))
    try:
        wait_for_capture_file(folder)
        played_for = play_switch_and_unplug(harness, tones)
    finally:
        proc.send_signal(signal.SIGINT)
    check_three_tones(finish(proc), played_for)


def test_preroll_follows_the_output_before_and_during_the_recording(harness, harness_environ, tmp_path, tones,
                                                                      caplog):
    """The pre-roll stream hears B on the headphones while idle; the recording it hands over goes on with C."""
    import logging

    from trayrip.api import Recording, RecordingOptions, open_default_source
    from trayrip.recording.preroll import SharedStream

    caplog.set_level(logging.INFO, logger="trayrip.capture.follow")
    options = RecordingOptions(folder=tmp_path / "pre")
    stream = SharedStream(open_default_source(options), 12.0).start()
    rec = Recording(options)
    try:
        # A new stream on an idle monitor may deliver a first block and then nothing for a second or two:
        # half a second of audio in the ring means it flows.
        flowing = stream.format.rate * stream.format.bytes_per_frame // 2
        deadline = time.monotonic() + 10
        while len(stream.snapshot()) < flowing:
            assert time.monotonic() < deadline, "the pre-roll stream never delivered"
            time.sleep(0.05)

        def start_recording():
            rec.use_source(stream.tap())
            rec.start()
            wait_for_audio(rec)

        played_for = play_switch_and_unplug(harness, tones, before_unplug=start_recording)
    finally:
        filed = rec.stop() if rec.running else None
        stream.close()
    assert filed is not None
    check_three_tones(filed.path, played_for)
    switches = [r.getMessage() for r in caplog.records if "default output changed" in r.getMessage()]
    assert len(switches) >= 2, switches  # to the headphones, and back when they went away
