"""Stop on silence, sound-activated recording and pre-roll, on the fake source (no sound server)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf

import trayrip
from audio_tools import tone_with_silence
from trayrip.capture.fake import FakeSource
from trayrip.recording.preroll import Ring, SharedStream, preroll_bytes
from trayrip.wav.format import AudioFormat

RATE = 48000


def counter_signal(seconds: float) -> np.ndarray:
    """Channel 0 counts frames (mod 20000) so continuity and position can be read back exactly."""
    n = round(seconds * RATE)
    x = ((np.arange(n) % 20000) / 32767.0).astype(np.float32)
    return np.stack([x, x], axis=1)


def counter_of(data: np.ndarray) -> np.ndarray:
    return np.round(data[:, 0] * 32768).astype(np.int64)  # soundfile reads int16 as i/32768


# ---------------------------------------------------------------- stop on silence

def test_stop_on_silence_ends_the_recording_by_itself_and_trims(tmp_path):
    sig = tone_with_silence(lead=0.5, tone=1.0, tail=30.0)
    src = FakeSource(sig, RATE, speed=20.0)  # 20x real time; the tail is far longer than S
    rec = trayrip.Recording(source=src, folder=tmp_path, stop_on_silence=2.0)
    ended = threading.Event()
    rec.on_event = lambda kind: ended.set() if kind == "silence" else None
    rec.start()
    assert ended.wait(20), "stop on silence never fired"
    assert rec.silence_reached
    result = rec.stop_capture()
    recorder = rec._recorder
    # the silence was counted from the end of the tone, within one 10 ms window
    assert abs(recorder.silence_at / RATE - 1.5) <= 0.011
    assert result.frames >= round(3.5 * RATE)  # it fired once 2 s of silence had been seen
    assert result.frames < sig.shape[0]  # it ended by itself, long before the source ran out
    filed = rec.finish()
    data, _ = sf.read(filed.path)
    assert abs(data.shape[0] / RATE - 1.4) <= 0.011  # tone + 0.1 s / 0.3 s pads


def test_record_returns_on_silence_without_a_duration_or_stop(tmp_path):
    sig = tone_with_silence(lead=0.3, tone=0.5, tail=30.0)
    path = trayrip.record(stop=threading.Event(), source=FakeSource(sig, RATE, speed=20.0), folder=tmp_path,
                          stop_on_silence=1.0)
    data, _ = sf.read(path)
    assert abs(data.shape[0] / RATE - 0.9) <= 0.011


def test_silence_from_the_start_counts_when_nothing_ever_sounds(tmp_path):
    src = FakeSource(np.zeros((RATE * 30, 2), np.float32), RATE, speed=20.0)
    rec = trayrip.Recording(source=src, folder=tmp_path, stop_on_silence=1.0)
    ended = threading.Event()
    rec.on_event = lambda kind: ended.set()
    rec.start()
    assert ended.wait(20)
    result = rec.stop_capture()
    assert rec._recorder.silence_at == 0 and round(1.0 * RATE) <= result.frames < RATE * 30
    rec.finish()


def silence_when_stopping(caplog) -> float:
    """The silence the recorder had counted when it decided to stop (its log line)."""
    line = next(r.getMessage() for r in caplog.records if "of silence after" in r.getMessage())
    return float(line.split(" s of silence")[0])


@pytest.mark.parametrize("blocksize", [1920, RATE // 2, RATE * 2])
def test_stop_on_silence_falls_on_its_frame_however_long_the_blocks(tmp_path, caplog, blocksize):
    # A late reader hands over long blocks, a stall a backlog: the stop still falls S after the sound.
    caplog.set_level("INFO", logger="trayrip.recording.recorder")
    sig = tone_with_silence(lead=0.5, tone=1.0, tail=30.0)
    rec = trayrip.Recording(source=FakeSource(sig, RATE, speed=None, blocksize=blocksize), folder=tmp_path,
                            stop_on_silence=1.0)
    ended = threading.Event()
    rec.on_event = lambda kind: ended.set() if kind == "silence" else None
    rec.start()
    assert ended.wait(20), "stop on silence never fired"
    rec.stop_capture()
    assert abs(rec._recorder.silence_at / RATE - 1.5) <= 0.011
    assert silence_when_stopping(caplog) == 1.0
    rec.finish()


def test_stop_on_silence_falls_inside_a_filled_gap(tmp_path, caplog):
    # The loopback source delivered nothing for 3 s after the sound: the gap is silence, and S ends inside it.
    caplog.set_level("INFO", logger="trayrip.recording.recorder")
    sig = tone_with_silence(lead=0.5, tone=1.0, tail=2.0)
    gap_at = round(1.5 * RATE) - round(1.5 * RATE) % 960
    rec = trayrip.Recording(source=FakeSource(sig, RATE, speed=1.0, blocksize=960, gaps={gap_at: 3.0}),
                            folder=tmp_path, stop_on_silence=1.0)
    ended = threading.Event()
    rec.on_event = lambda kind: ended.set() if kind == "silence" else None
    rec.start()
    assert ended.wait(20), "stop on silence never fired"
    result = rec.stop_capture()
    assert result.filled_frames > 2 * RATE
    assert silence_when_stopping(caplog) == 1.0
    rec.finish()


def test_stop_on_silence_must_not_be_negative():
    with pytest.raises(ValueError):
        trayrip.RecordingOptions(stop_on_silence=-1)


# ---------------------------------------------------------------- wait for sound

def test_wait_for_sound_writes_nothing_until_the_sound_then_keeps_the_onset(tmp_path):
    sig = tone_with_silence(lead=3.0, tone=1.0, tail=1.0)
    src = FakeSource(sig, RATE, speed=None)
    rec = trayrip.Recording(source=src, folder=tmp_path, wait_for_sound=True, trim=False)
    events = []
    rec.on_event = events.append
    rec.start()
    src.wait(10)
    result = rec.stop_capture()
    assert events == ["sound"]
    onset = round(3.0 * RATE)
    lead_frames = result.frames - (sig.shape[0] - onset)
    # at least the lead-in pad before the onset, but not the 3 s of waiting
    assert round(0.2 * RATE) <= lead_frames < round(1.0 * RATE)
    filed = rec.finish()
    data, _ = sf.read(filed.path, dtype="float32")
    # bit-exact from the onset on: nothing of the start of the sound is lost
    np.testing.assert_allclose(data[lead_frames:], sig[onset:], atol=2 / 32768)
    np.testing.assert_allclose(data[:lead_frames], sig[onset - lead_frames : onset], atol=2 / 32768)


def test_wait_for_sound_then_trim_keeps_the_usual_pad(tmp_path):
    sig = tone_with_silence(lead=2.0, tone=1.0, tail=0.5)
    path = trayrip.record(stop=threading.Event(), source=FakeSource(sig, RATE, speed=20.0), folder=tmp_path,
                          wait_for_sound=True, stop_on_silence=0.4)
    data, _ = sf.read(path)
    assert abs(data.shape[0] / RATE - 1.4) <= 0.011
    assert np.abs(data[: round(0.09 * RATE)]).max() < 1e-3
    assert np.abs(data[round(0.11 * RATE) : round(0.2 * RATE)]).max() > 0.35


@pytest.mark.parametrize("seconds", [1.0, 0.3])  # 0.3 s: shorter than the lead-in itself
def test_wait_for_sound_with_a_duration_is_exact_from_the_lead_in(tmp_path, seconds):
    sig = tone_with_silence(lead=2.0, tone=3.0, tail=0.5)
    path = trayrip.record(seconds, source=FakeSource(sig, RATE, speed=None), folder=tmp_path, wait_for_sound=True,
                          trim=False)
    data, _ = sf.read(path)
    assert data.shape[0] == round(seconds * RATE)
    if seconds >= 1.0:
        assert np.abs(data[: round(0.2 * RATE)]).max() < 1e-3  # the lead-in: silence before the onset
        assert np.abs(data[-RATE // 10 :]).max() > 0.35


def test_the_onset_is_found_inside_a_backlog_delivered_in_one_block(tmp_path):
    """A stalled server's backlog can arrive in one read: seconds of silence, then the sound. Only the
    lead-in before the sound is kept, and the length counts from there (it used to count from the start
    of the read, filing 1 s of the waiting's silence)."""
    sig = tone_with_silence(lead=3.0, tone=1.5, tail=0.0)
    src = FakeSource(sig, RATE, speed=None, blocksize=sig.shape[0])
    path = trayrip.record(1.0, source=src, folder=tmp_path, wait_for_sound=True, trim=False)
    data, _ = sf.read(path)
    assert data.shape[0] == RATE
    onset = int(np.flatnonzero(np.abs(data[:, 0]) > 0.05)[0])
    assert abs(onset - RATE // 2) <= RATE // 100  # the 0.5 s lead-in, to within one 10 ms gate window
    assert np.abs(data[onset:, 0]).max() > 0.35


def test_armed_and_silent_files_nothing(tmp_path):
    src = FakeSource(np.zeros((RATE * 3, 2), np.float32), RATE, speed=None)
    rec = trayrip.Recording(source=src, folder=tmp_path, wait_for_sound=True)
    rec.start()
    src.wait(10)
    assert rec.waiting and rec.status().bytes_written == 0
    rec.discard()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- pre-roll

def test_ring_keeps_the_newest_bytes_in_order_and_never_grows():
    ring = Ring(frames=5, bytes_per_frame=2)
    assert ring.snapshot() == b""
    ring.write(b"aabb")
    assert ring.snapshot() == b"aabb" and ring.frames == 2
    ring.write(b"ccddeeff")
    assert ring.snapshot() == b"bbccddeeff" and ring.frames == 5
    ring.write(b"gg")
    assert ring.snapshot() == b"ccddeeffgg"
    ring.write(b"0123456789abcdef")  # more than the capacity at once
    assert ring.snapshot() == b"6789abcdef"
    ring.write_silence(4)
    assert ring.snapshot() == b"abcdef\0\0\0\0"
    assert len(ring._buf) == 10
    ring.clear()
    assert ring.snapshot() == b"" and ring.frames == 0


def test_preroll_memory_is_n_times_rate_channels_bytes():
    assert preroll_bytes(30, AudioFormat(48000, 2, 2)) == 30 * 48000 * 2 * 2


def test_a_recording_from_the_shared_stream_starts_with_the_preroll_seamlessly(tmp_path):
    sig = counter_signal(8.0)
    src = FakeSource(sig, RATE, speed=4.0, blocksize=960)
    stream = SharedStream(src, seconds=2.0).start()
    try:
        while src.delivered < round(4.0 * RATE):
            threading.Event().wait(0.01)
        rec = trayrip.Recording(folder=tmp_path, trim=False)
        rec.use_source(stream.tap())
        rec.start()
        tapped_by = src.delivered  # the tap took the stream at or before this position
        while src.delivered < round(6.0 * RATE):
            threading.Event().wait(0.01)
        stopped_after = src.delivered
        filed = rec.stop()
        assert stream.running and not stream.tapped  # the stream lives on after the recording
    finally:
        stream.close()
    data, _ = sf.read(filed.path, dtype="float32")
    c = counter_of(data)
    steps = np.diff(c) % 20000
    assert (steps == 1).all(), "audio lost or repeated at the pre-roll/recording seam"
    # the full 2 s of pre-roll came first, then everything from the tap to the stop
    assert data.shape[0] >= round(2.0 * RATE) + stopped_after - tapped_by
    assert stream.dropped_frames == 0


def test_snapshot_saves_the_last_n_seconds_and_the_ring_stays_bounded(tmp_path):
    sig = counter_signal(10.0)
    src = FakeSource(sig, RATE, speed=4.0, blocksize=960)
    stream = SharedStream(src, seconds=1.0).start()
    try:
        while src.delivered < round(3.0 * RATE):
            threading.Event().wait(0.01)
        data = stream.snapshot()
        assert len(data) == preroll_bytes(1.0, src.format) == stream.memory_bytes
        c = np.frombuffer(data, "<i2").reshape(-1, 2)[:, 0].astype(np.int64)
        assert (np.diff(c) % 20000 == 1).all()
        assert stream.snapshot()  # a snapshot does not empty the ring
    finally:
        stream.close()


def test_a_start_from_the_shared_stream_does_not_wait_for_the_ring_thread(tmp_path):
    """Issue 20, defect 8: taking the stream over is the O(1) switch; the ring's answer (its thread may be
    slow to run under load) is waited for by the recorder thread, and still comes first, seamlessly."""
    sig = counter_signal(8.0)
    src = FakeSource(sig, RATE, speed=4.0, blocksize=960)
    stream = SharedStream(src, seconds=2.0).start()
    ring_may_answer = threading.Event()
    snapshot = stream._ring.snapshot
    stream._ring.snapshot = lambda: (ring_may_answer.wait(10), snapshot())[1]  # a ring thread held back
    try:
        while src.delivered < round(4.0 * RATE):
            threading.Event().wait(0.01)
        rec = trayrip.Recording(folder=tmp_path, trim=False)
        rec.use_source(stream.tap())
        starter = threading.Thread(target=rec.start)
        starter.start()
        starter.join(2)  # the ring's answer is held for up to 5 s (its hand-over time-out)
        assert not starter.is_alive(), "the start waited for the ring thread"
        tapped_by = src.delivered
        ring_may_answer.set()
        while src.delivered < round(6.0 * RATE):
            threading.Event().wait(0.01)
        stopped_after = src.delivered
        filed = rec.stop()
    finally:
        ring_may_answer.set()
        stream.close()
    data, _ = sf.read(filed.path, dtype="float32")
    assert (np.diff(counter_of(data)) % 20000 == 1).all(), "audio lost or repeated at the seam"
    assert data.shape[0] >= round(2.0 * RATE) + stopped_after - tapped_by
