"""Recorder + Recording API on the fake source: nothing lost, timeline kept, limits exact."""
from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

import trayrip
from audio_tools import tone_with_silence
from trayrip.capture.fake import FakeSource
from trayrip.errors import CaptureError
from trayrip.recording.recorder import Recorder
from trayrip.recording.silence import SilenceSettings

RATE = 48000


def test_record_files_the_trimmed_tone(tmp_path):
    sig = tone_with_silence()
    path = trayrip.record(3.5, source=FakeSource(sig, RATE, speed=None), folder=tmp_path)
    data, rate = sf.read(path)
    assert rate == RATE
    # 1 s of tone plus the 100 ms / 300 ms pads, within one 10 ms window
    assert abs(data.shape[0] / RATE - 1.4) <= 0.011
    assert np.abs(data[: round(0.09 * RATE)]).max() < 1e-3
    assert np.abs(data[round(0.11 * RATE) : round(1.09 * RATE)]).max() > 0.35
    assert list(tmp_path.iterdir()) == [path]  # no .part left


def test_duration_is_exact_without_trim(tmp_path):
    sig = tone_with_silence()
    path = trayrip.record(2.5, source=FakeSource(sig, RATE, speed=None, blocksize=1777), folder=tmp_path, trim=False)
    data, _ = sf.read(path)
    assert data.shape[0] == round(2.5 * RATE)
    np.testing.assert_allclose(data, sig[: data.shape[0]], atol=2 / 32768)


def test_gaps_in_delivery_are_filled_with_silence_of_the_right_length(tmp_path):
    sig = tone_with_silence(lead=0.2, tone=0.5, tail=0.0)
    sig = np.concatenate([sig, sig])
    gap_at = tone_with_silence(lead=0.2, tone=0.5, tail=0.0).shape[0]
    gap_at -= gap_at % 960
    src = FakeSource(sig, RATE, speed=1.0, blocksize=960, gaps={gap_at: 1.0})
    rec = trayrip.Recording(source=src, folder=tmp_path, trim=False)
    rec.start()
    src.wait(10)
    result = rec.stop_capture()
    assert abs(result.filled_frames / RATE - 1.0) < 0.1
    assert abs(result.frames / RATE - (sig.shape[0] / RATE + 1.0)) < 0.1
    filed = rec.finish()
    data, _ = sf.read(filed.path)
    loud = np.flatnonzero(np.abs(data[:, 0]) > 0.2)
    starts = [loud[0]] + [loud[i] for i in range(1, len(loud)) if loud[i] - loud[i - 1] > RATE // 2]
    assert len(starts) == 2
    # second burst starts 0.7 s (signal) + 1.0 s (gap) after the first
    assert abs((starts[1] - starts[0]) / RATE - 1.7) < 0.1


def test_lost_device_keeps_what_was_captured(tmp_path):
    sig = tone_with_silence(lead=0.1, tone=2.0, tail=0.0)
    src = FakeSource(sig, RATE, speed=None, fail_after=RATE)
    with pytest.raises(trayrip.api.RecordingFailed, match="unplugged") as info:
        trayrip.record(10, source=src, folder=tmp_path)
    filed = info.value.filed
    data, _ = sf.read(filed.path)
    assert abs(data.shape[0] / RATE - (0.9 + 0.1)) < 0.05  # tone until the failure, plus lead pad


def test_all_silent_recording_is_kept_untrimmed(tmp_path, caplog):
    sig = np.zeros((RATE, 2), np.float32)
    path = trayrip.record(1.0, source=FakeSource(sig, RATE, speed=None), folder=tmp_path)
    assert sf.info(path).frames == RATE
    assert "digital silence" in caplog.text and "Kept untrimmed" in caplog.text


def test_nothing_captured_is_an_error_and_leaves_no_file(tmp_path):
    src = FakeSource(np.zeros((10, 2), np.float32), RATE, speed=None, total_frames=0)
    rec = trayrip.Recording(source=src, folder=tmp_path)
    rec.start()
    with pytest.raises(CaptureError, match="nothing was captured"):
        rec.stop()
    assert list(tmp_path.iterdir()) == []


def test_memory_stays_flat_while_recording(tmp_path):
    """Python-level allocations do not grow with the recording's length."""
    sig = tone_with_silence(lead=0.0, tone=1.0, tail=0.0)
    src = FakeSource(sig, RATE, speed=None, total_frames=RATE * 120)
    rec = Recorder(src, tmp_path / "m.wav.part", SilenceSettings())
    tracemalloc.start()
    rec.start()
    src.wait(60)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = rec.stop()
    assert result.frames == RATE * 120
    assert peak < 20 * 2**20  # 120 s of audio is 23 MB; the recorder never holds it


def test_a_late_driver_catching_up_inserts_no_silence(tmp_path):
    """A 0.5 s scheduling stall followed by a burst of the backlog: nothing was missing."""
    sig = tone_with_silence(lead=0.0, tone=3.0, tail=0.0)
    src = FakeSource(sig, RATE, speed=1.0, blocksize=960, stalls={RATE: 0.5})
    rec = trayrip.Recording(source=src, folder=tmp_path, trim=False)
    rec.start()
    src.wait(10)
    result = rec.stop_capture()
    assert result.filled_frames == 0
    assert result.frames == sig.shape[0]
    rec.finish()


class ScriptedSource:
    """Blocks handed to the recorder by the test, with the arrival times it chooses (no thread)."""

    def __init__(self):
        from trayrip.wav.format import AudioFormat
        self.format = AudioFormat(RATE, 2, 2)
        self.description = "scripted source"
        self.sink = None

    def start(self, sink):
        self.sink = sink

    def stop(self):
        pass

    def error(self):
        return None

    def deliver(self, seconds: float, arrival: float) -> None:
        from trayrip.capture.base import Block
        frames = round(seconds * RATE)
        assert self.sink(Block(bytes(frames * 4), frames, arrival))


def test_a_catch_up_read_shorter_than_the_stall_is_followed_by_the_missing_time(tmp_path):
    """PipeWire's null sink after a 6.1 s stall: 4.4 s of its catch-up come in one read, then blocks flow
    again. The read covers 4.4 s of the stall, the other 1.7 s are filled (the long read used to hide the
    gap, and the stall was kept 1.7 s shorter than it lasted)."""
    src = ScriptedSource()
    rec = Recorder(src, tmp_path / "x.part")
    rec.start()
    t = 100.0
    for jitter in (0.0, 0.05, -0.05, 0.1, -0.1, 0.0):  # 0.5 s reads, their wake-ups a little early or late
        src.deliver(0.5, t + 0.5 + jitter)
        t += 0.5
    src.deliver(4.4, t + 6.1)
    t += 6.1
    for _ in range(3):
        src.deliver(0.5, t + 0.5)
        t += 0.5
    result = rec.stop()
    rec.release()
    assert abs(result.filled_frames / RATE - 1.7) < 0.01
    assert abs(result.frames / RATE - (3.0 + 6.1 + 1.5)) < 0.01


def test_a_catch_up_in_hundreds_of_small_blocks_is_held_whole(tmp_path):
    """A 6 s stall's catch-up as a reader that keeps up hands it over: one 21 ms cycle per block, 281
    blocks within 12 ms. They cover the stall, so nothing is filled (a hold limited to 250 blocks decided
    early and filled 0.68 s, and the stall was kept that much longer than it lasted)."""
    src = ScriptedSource()
    rec = Recorder(src, tmp_path / "x.part")
    rec.start()
    t = 100.0
    for _ in range(4):
        src.deliver(0.5, t + 0.5)
        t += 0.5
    cycle = 1024 / RATE
    catch_up = round(6.0 / cycle)
    for i in range(catch_up):
        src.deliver(cycle, t + 6.0 + i * 0.012 / catch_up)
    t += 6.0 + 0.012
    for _ in range(3):
        src.deliver(0.5, t + 0.5)
        t += 0.5
    result = rec.stop()
    rec.release()
    assert result.filled_frames == 0, f"{result.filled_frames / RATE:.2f} s filled"
    assert result.frames == round(4 * 0.5 * RATE) + catch_up * 1024 + round(3 * 0.5 * RATE)


def test_duration_is_reached_by_the_clock_when_nothing_is_delivered(tmp_path, monkeypatch):
    monkeypatch.setattr("trayrip.api._DURATION_GRACE", 0.5)
    src = FakeSource(np.zeros((RATE, 2), np.float32), RATE, speed=1.0, total_frames=RATE // 10)
    path = trayrip.record(1.0, source=src, folder=tmp_path, trim=False)
    assert sf.info(path).frames == RATE // 10


def test_the_wait_for_the_first_block_is_not_filled(tmp_path):
    """A stream whose first block comes 1 s after start: start-up latency, not audio."""
    sig = tone_with_silence(lead=0.1, tone=0.5, tail=0.1)
    src = FakeSource(sig, RATE, speed=1.0, blocksize=960, gaps={0: 1.0})
    rec = trayrip.Recording(source=src, folder=tmp_path, trim=False)
    rec.start()
    assert src.wait(10)
    result = rec.stop_capture()
    assert result.filled_frames == 0 and result.frames == sig.shape[0]
    rec.finish()


def test_clock_map_places_arrival_times_in_the_file(tmp_path):
    """Player signals are placed by block arrival times: the map interpolates, extrapolates, clamps."""
    from trayrip.capture.base import AudioFormat
    from trayrip.recording.recorder import RecordingResult

    fmt = AudioFormat(1000, 1, 2)
    r = RecordingResult(tmp_path / "x", fmt, 5000, None, [], 0, 0, 0, clock=((100, 10.0), (1100, 11.0), (4100, 14.0)))
    assert r.frame_at(10.5) == 600
    assert r.frame_at(12.0) == 2100
    assert r.frame_at(9.95) == 50  # before the first point: extrapolated at the rate
    assert r.frame_at(5.0) == 0 and r.frame_at(99.0) == 5000  # clamped to the file
    assert RecordingResult(tmp_path / "x", fmt, 10, None, [], 0, 0, 0).frame_at(3.0) == 0


def test_recorder_keeps_a_clock_map(tmp_path):
    src = FakeSource(np.zeros((48000 * 3, 2), np.float32), 48000, speed=2.0)  # 1.5 s of wall time
    rec = Recorder(src, tmp_path / "c.wav.part")
    rec.start()
    assert src.wait(20)
    res = rec.stop()
    assert len(res.clock) >= 2  # a point every 0.5 s of arrivals
    frames = [f for f, _ in res.clock]
    times = [t for _, t in res.clock]
    assert frames == sorted(frames) and times == sorted(times) and frames[-1] <= res.frames


@pytest.mark.parametrize("mode", [{}, {"wait_for_sound": True}, {"stop_on_silence": 1.5}])
def test_a_batching_source_is_asked_for_prompt_blocks_only_when_timing_matters(tmp_path, mode):
    """PipeWire's pipe is read twice a second (cheap); waiting for sound or silence wants 0.1 s."""
    source = FakeSource(np.zeros((4800, 2), np.float32))
    source.block_interval = 0.5
    Recorder(source, tmp_path / "x.part", **mode)
    assert source.block_interval == (0.5 if not mode else 0.1)


def test_stop_stream_stops_the_source_and_leaves_the_file_to_whoever_finishes(tmp_path):
    """Issue 20, defect 8: the tray stops the stream on its controller thread and lets the filer write what
    was queued and close the file, so the next press does not wait for the disk. Nothing is lost."""
    import threading

    sig = tone_with_silence(0.0, 0.5, 0.0, freq=440)
    src = FakeSource(sig, RATE, speed=None, blocksize=1920)
    rec = trayrip.Recording(source=src, folder=tmp_path, trim=False)
    disk = threading.Event()
    rec.start()
    writer = rec._recorder._writer
    write = writer.write
    writer.write = lambda data: (disk.wait(10), write(data))[1]  # a disk that holds every write
    assert src.wait(10), "the fake source did not deliver"
    stopper = threading.Thread(target=rec.stop_stream)
    stopper.start()
    stopper.join(5)
    assert not stopper.is_alive(), "stop_stream waited for the disk"
    assert rec.result is None and src._stop.is_set()  # the stream stopped; the file is not closed yet
    disk.set()
    filed = rec.finish()
    data, rate = sf.read(filed.path)
    assert rate == RATE and len(data) == len(sig)  # every delivered frame, once


def test_an_armed_recording_with_a_length_waits_through_a_backlog_longer_than_that_length(tmp_path):
    """A stalled server hands over its backlog of silence in a burst: while waiting for sound that is not
    part of the recording yet (it ended with 'no sound came while waiting' when the burst exceeded -d)."""
    sig = tone_with_silence(lead=2.0, tone=1.0, tail=0.0)
    src = FakeSource(sig, RATE, speed=1.0, blocksize=960, stalls={RATE // 5: 1.5})  # a 1.5 s backlog
    path = trayrip.record(0.8, source=src, folder=tmp_path, trim=False, wait_for_sound=True)
    data, _ = sf.read(path)
    assert data.shape[0] == round(0.8 * RATE)  # the length counts from the lead-in, as documented
    assert np.abs(data[-RATE // 10:, 0]).max() > 0.35  # and ends in the tone
