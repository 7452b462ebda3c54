"""Reliability against the real sound server: a lost server, loopback silence, load."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

import audio_tools as at
from harness import wait_until
from recorder_tools import wait_for_audio
import trayrip
from trayrip.api import RecordingFailed

pytestmark = pytest.mark.both_servers  # PulseAudio and PipeWire


def test_sound_server_lost_mid_recording_then_back(harness, harness_environ, tmp_path, monkeypatch):
    # A server that stays away: after the wait for it (15 s; 2 s here) the recording is filed with the error.
    # (One that comes back is recorded again in the same file: tests/system/test_server_back_system.py.)
    monkeypatch.setattr("trayrip.capture.follow.LOST_PATIENCE", 2.0)
    tone = at.write_wav(tmp_path / "tone.wav", at.tone(900, 20.0))
    rec = trayrip.Recording(folder=tmp_path / "out", trim=False)
    rec.start()
    wait_for_audio(rec)
    player = harness.play(tone, wait=False)
    wait_until(lambda: rec.status().bytes_written >= 3 * 48000 * 4, 20, "3 s of the tone written")
    harness.kill_pulse()
    player.wait(10)
    assert rec.wait_done(10), "the recorder did not notice that the sound server died"
    with pytest.raises(RecordingFailed, match="sound server lost") as info:
        rec.stop()
    data, rate = at.read_audio(info.value.filed.path)
    assert len(data) / rate > 2.0
    # the tone that played before the kill is in the file
    assert abs(at.dominant_frequency(data, rate, len(data) / rate - 1.2, len(data) / rate - 0.2) - 900) < 5
    # the server comes back: the next recording works in the same process, without a restart
    harness.start_pulse()
    again = at.write_bursts(tmp_path / "again.wav", [1300], burst=0.5, lead=0.2, tail=0.2)
    rec2 = trayrip.Recording(folder=tmp_path / "out2")
    rec2.start()
    wait_for_audio(rec2)
    harness.play(again.path)
    filed = rec2.stop()
    data2, rate2 = at.read_audio(filed.path)
    assert abs(at.dominant_frequency(data2, rate2, 0.15, 0.55) - 1300) < 5


def test_gap_between_songs_keeps_its_length_on_an_idle_sink(harness, harness_environ, tmp_path):
    """Nothing else plays between the two bursts (no keep-alive stream): the 3 s gap is kept."""
    burst = at.write_wav(tmp_path / "b.wav", at.tone(1000, 0.5))
    rec = trayrip.Recording(folder=tmp_path / "out")
    rec.start()
    wait_for_audio(rec)
    t_first = time.monotonic()
    first = harness.play(burst, wait=False)
    time.sleep(3.0 - (time.monotonic() - t_first))
    second = harness.play(burst, wait=False)
    first.wait(10)
    second.wait(10)
    time.sleep(0.5)
    rec.stop_capture()
    result = rec.result
    filed = rec.finish()
    data, rate = at.read_audio(filed.path)
    starts = at.onsets(data, rate, threshold_db=-30, min_gap=0.5)
    assert len(starts) == 2, starts
    # paplay's own start-up jitter is the tolerance; a lost idle stretch would be ~seconds short
    assert abs((starts[1] - starts[0]) - 3.0) < 0.25, (starts, result.filled_frames / rate)


class TappedSource:
    """The real capture source, noting (arrival, frames) of every block it delivers (O(1) per block)."""

    def __init__(self, inner):
        self.inner, self.blocks = inner, []
        self.format, self.description = inner.format, inner.description
        self.can_wait = getattr(inner, "can_wait", False)

    def start(self, sink):
        def tap(block):
            self.blocks.append((block.arrival, block.frames))
            return sink(block)

        self.inner.start(tap)

    def stop(self):
        self.inner.stop()

    def error(self):
        return self.inner.error()


def lost_seconds(blocks, rate: int, window: float = 10.0) -> float:
    """How far the delivered audio fell behind the clock between the first and the last ``window`` s.

    Each block's offset = arrival - (audio position at its end). Scheduling
    delays only ever make a block late, so the smallest offset in a window
    is the stream's fixed latency; lost frames raise it for good.
    """
    pos, offsets = 0, []
    for arrival, frames in blocks:
        pos += frames
        offsets.append((arrival, arrival - pos / rate))
    t0, t1 = offsets[0][0], offsets[-1][0]
    first = min(o for a, o in offsets if a <= t0 + window)
    last = min(o for a, o in offsets if a >= t1 - window)
    return last - first


def test_no_overruns_at_96k_24_bit_with_both_cores_busy(harness, harness_environ, tmp_path):
    from trayrip.api import RecordingOptions, open_default_source

    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        options = RecordingOptions(folder=tmp_path / "out", rate=96000, bits=24, trim=False)
        source = TappedSource(open_default_source(options))
        rec = trayrip.Recording(options, source=source)
        rec.start()
        player = harness.play(at.write_wav(tmp_path / "t.wav", at.tone(5000, 62.0)), wait=False)
        wait_for_audio(rec)
        flowing = len(source.blocks)
        wait_until(lambda: sum(f for _, f in source.blocks[flowing:]) >= 60 * 96000, 120, "60 s of audio")
        result = rec.stop_capture()
        player.terminate()
    finally:
        for h in hogs:
            h.kill()
    filed = rec.finish()
    assert (filed.rate, result.format.bits) == (96000, 24)
    blocks = source.blocks[flowing:]
    block_time = max(f for _, f in blocks) / 96000
    lost = lost_seconds(blocks, 96000)
    print(f"96k/24 for 60 s under load: {result.overflows} overflows, {result.dropped_frames} dropped frames, "
          f"{lost * 1000:.1f} ms behind the clock, {result.filled_frames} frames of silence filled")
    assert result.overflows == 0 and result.dropped_frames == 0
    # no frames lost on the way in: a lost block would put the audio a whole block behind the clock
    assert abs(lost) < block_time / 2, (lost, block_time)
    # and everything delivered is in the file, nothing inserted
    assert filed.frames == sum(f for _, f in source.blocks) + result.filled_frames and result.filled_frames == 0


def test_kill_9_of_trayrip_record_then_recover(harness, user_env, tmp_path):
    """The real CLI, recording the real monitor, killed with SIGKILL: `trayrip recover` files its audio."""
    import signal

    from recorder_tools import start_record, wait_for_capture_file

    folder = tmp_path / "out"
    tone = at.write_wav(tmp_path / "tone.wav", at.tone(650, 10.0))
    proc = start_record(user_env, "--folder", str(folder))
    wait_for_capture_file(folder)
    player = harness.play(tone, wait=False)
    part = next(folder.glob(".trayrip-*.wav.part"))
    wait_until(lambda: part.stat().st_size >= 80 + 3 * 48000 * 4, 20, "3 s of the tone on disk")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    player.terminate()
    on_disk = (part.stat().st_size - 80) / (48000 * 4)
    done = subprocess.run(
        [sys.executable, "-m", "trayrip", "recover", "--no-trim", "--folder", str(folder)],
        env=user_env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0 and "recovered an unfinished recording" in done.stderr, done.stderr
    [filed] = [p for p in folder.iterdir() if p.suffix == ".wav"]
    data, rate = at.read_audio(filed)
    assert abs(len(data) / rate - on_disk) < 0.001  # everything that reached the disk is kept
    assert len(data) / rate > 2.5
    assert abs(at.dominant_frequency(data, rate, len(data) / rate - 1.0, len(data) / rate - 0.1) - 650) < 5


def _suspend(harness, on: bool) -> None:
    harness.pactl("suspend-sink", harness.sink, "1" if on else "0")


@pytest.mark.server("pulseaudio")  # pipewire-pulse keeps a suspended sink's monitor running
def test_the_wait_for_the_first_block_is_not_written_as_silence(harness, harness_environ, tmp_path):
    """Untrimmed, the file is exactly the audio delivered, not the wall clock since start.

    The sink is suspended while the stream opens, so the first block is
    certainly late (by more than the gap filler's threshold): that wait is
    start-up latency, not elapsed audio.
    """
    from trayrip.api import RecordingOptions, open_default_source

    options = RecordingOptions(folder=tmp_path / "out", trim=False)
    _suspend(harness, True)
    try:
        source = TappedSource(open_default_source(options))
        rec = trayrip.Recording(options, source=source)
        started = time.monotonic()
        rec.start()
        time.sleep(1.5)  # the sink stays suspended for this long: nothing can be delivered meanwhile
        assert not source.blocks, "the suspended sink's monitor delivered audio"
    finally:
        _suspend(harness, False)
    wait_for_audio(rec)
    rate = source.format.rate
    wait_until(lambda: sum(f for _, f in source.blocks) >= rate, 20, "a second of audio")
    result = rec.stop_capture()
    filed = rec.finish()
    first_wait = source.blocks[0][0] - started
    delivered = sum(f for _, f in source.blocks)
    assert first_wait > 1.5  # certainly past the gap filler's threshold (0.2 s)
    assert result.filled_frames == 0
    assert filed.frames == delivered, (filed.frames / rate, delivered / rate, first_wait)


@pytest.mark.server("pulseaudio")  # pipewire-pulse keeps a suspended sink's monitor running
def test_a_source_that_stops_delivering_keeps_the_pause_as_silence(harness, harness_environ, tmp_path):
    """The sink is suspended between two bursts, so its monitor really delivers nothing for ~2 s
    (our own stream cannot keep it awake): the gap filler must put that time back."""
    from trayrip.api import RecordingOptions, open_default_source

    burst = at.write_wav(tmp_path / "b.wav", at.tone(1000, 0.5))
    options = RecordingOptions(folder=tmp_path / "out", trim=False)
    source = TappedSource(open_default_source(options))
    rec = trayrip.Recording(options, source=source)
    rec.start()
    wait_for_audio(rec)
    rate = source.format.rate
    t_first = time.monotonic()
    harness.play(burst)  # returns once paplay has drained: the burst is in the sink
    wait_until(lambda: source.blocks and source.blocks[-1][0] > time.monotonic() - 0.05 and
               sum(f for _, f in source.blocks) > 0, 5, "the burst delivered")
    _suspend(harness, True)
    suspended_at = time.monotonic()
    n = len(source.blocks)
    time.sleep(2.0)
    assert len(source.blocks) - n <= 2, "the monitor kept delivering while its sink was suspended"
    _suspend(harness, False)
    resumed = len(source.blocks)
    wait_until(lambda: len(source.blocks) > resumed, 10, "audio after the resume")
    t_second = time.monotonic()
    harness.play(burst)
    wait_until(lambda: source.blocks[-1][0] > time.monotonic() - 0.05 and time.monotonic() - t_second > 0.7,
               5, "the second burst delivered")
    result = rec.stop_capture()
    filed = rec.finish()
    data, got = at.read_audio(filed.path)
    starts = at.onsets(data, got, threshold_db=-30, min_gap=0.5)
    assert len(starts) == 2, starts
    pause = max(b - a for (a, _), (b, _) in zip(source.blocks, source.blocks[1:]))
    assert pause > 1.5, pause  # the source really stopped
    assert result.filled_frames / rate > 1.5
    # the bursts are as far apart in the file as they were played (paplay's start-up jitter is the tolerance)
    assert abs((starts[1] - starts[0]) - (t_second - t_first)) < 0.25, (starts, t_second - t_first, suspended_at)
