"""Recovery of capture files left by a crash: repaired, trimmed, filed, reported."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import soundfile as sf

from harness import wait_until
from trayrip.capture.base import AudioFormat
from trayrip.filing.finish import new_part_path
from trayrip.wav.pcm import from_float
from trayrip.filing.recovery import find_leftovers, recover_all
from trayrip.recording.writer import WavWriter

RATE = 48000


def tone(seconds, amp=0.3):
    t = np.arange(round(seconds * RATE)) / RATE
    return np.repeat((amp * np.sin(2 * np.pi * 800 * t))[:, None], 2, axis=1).astype(np.float32)


def crashed_capture(folder, stale_header=True):
    """A capture file as a kill -9 leaves it: header sizes behind the data, half a frame at the end."""
    part = new_part_path(folder)
    w = WavWriter(part, AudioFormat(RATE, 2, 2), sync_interval=1e9)
    w.write(bytes(RATE * 4))  # 1 s silence
    w.sync()
    w.write(from_float(tone(2.0), 2))
    w.write(bytes(RATE * 4) + b"\x01\x02")  # 1 s silence + a torn frame
    os.close(w._fd)  # the process dies: no final header
    w._fd = -1
    return part


def test_leftover_is_repaired_trimmed_and_filed(tmp_path):
    part = crashed_capture(tmp_path)
    assert find_leftovers([tmp_path]) == [part]
    [report] = recover_all([tmp_path])
    assert report.problem is None and not part.exists()
    data, rate = sf.read(report.filed.path)
    assert "(recovered)" in report.filed.path.name
    assert abs(len(data) / rate - (2.0 + 0.1 + 0.3)) < 0.011
    from mutagen.wave import WAVE

    tags = WAVE(str(report.filed.path)).tags  # ReplayGain, measured in the pass that found the trim points
    assert tags["TXXX:REPLAYGAIN_TRACK_GAIN"].text[0].endswith(" dB")
    assert abs(float(tags["TXXX:REPLAYGAIN_TRACK_PEAK"].text[0]) - 0.3) < 1e-3


def test_file_being_written_is_left_alone(tmp_path):
    w = WavWriter(new_part_path(tmp_path), AudioFormat(RATE, 2, 2))
    w.write(from_float(tone(0.5), 2))
    script = textwrap.dedent(f"""
        from trayrip.filing.recovery import find_leftovers
        print(len(find_leftovers([{str(tmp_path)!r}])))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    w.close()


def test_damaged_leftover_is_reported_and_kept(tmp_path):
    part = tmp_path / ".trayrip-20260101-000000-1-1.wav.part"
    part.write_bytes(b"garbage" * 100)
    [report] = recover_all([tmp_path])
    assert report.filed is None and "damaged" in report.problem
    assert part.exists()


def test_empty_leftover_is_removed_and_reported(tmp_path):
    part = new_part_path(tmp_path)
    w = WavWriter(part, AudioFormat(RATE, 2, 2))
    os.close(w._fd)
    w._fd = -1
    [report] = recover_all([tmp_path])
    assert report.removed_empty and not part.exists()


def test_kill_9_of_trayrip_record_loses_at_most_about_a_second(tmp_path):
    """A real process killed mid-recording; the next `trayrip record` files its audio first."""
    folder = tmp_path / "out"
    script = textwrap.dedent(f"""
        import numpy as np, trayrip
        from trayrip.capture.fake import FakeSource
        t = np.arange(48000 * 60) / 48000
        sig = np.repeat((0.3 * np.sin(2 * np.pi * 500 * t))[:, None], 2, axis=1)
        trayrip.record(60, source=FakeSource(sig, 48000, speed=1.0), folder={str(folder)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    part = wait_until(lambda: next(folder.glob(".trayrip-*.part"), None), 30, "the capture file")
    wait_until(lambda: part.stat().st_size >= 80 + 3 * RATE * 4, 30, "3 s of audio on disk")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at_bytes = next(folder.glob(".trayrip-*.part")).stat().st_size
    done = subprocess.run(
        [sys.executable, "-m", "trayrip", "recover", "--folder", str(folder)],
        capture_output=True, text=True, env=dict(os.environ, HOME=str(tmp_path)),
    )
    assert done.returncode == 0, done.stderr
    assert "recovered an unfinished recording" in done.stderr
    filed = [p for p in folder.iterdir() if p.suffix == ".wav"]
    assert len(filed) == 1 and not list(folder.glob(".trayrip-*"))
    seconds = sf.info(filed[0]).frames / RATE
    written = (killed_at_bytes - 80) / (RATE * 4)
    # everything that reached the file is kept (the trim pads add 0 here: it is all tone)
    assert abs(seconds - written) < 0.05
    assert seconds > 2.0


def test_torn_header_from_a_crash_during_the_first_write(tmp_path):
    """A header cut short (the crash came while it was written) is handled, never a traceback."""
    whole = tmp_path / "whole.wav"
    w = WavWriter(whole, AudioFormat(RATE, 2, 2))
    w.close()
    for n in (0, 11, 30, 56, 71):
        part = tmp_path / f".trayrip-20260101-000000-{n}-1.wav.part"
        part.write_bytes(whole.read_bytes()[:n])
    reports = recover_all([tmp_path])
    assert len(reports) == 5
    assert all(r.removed_empty and not r.part.exists() for r in reports)


def test_capture_file_is_locked_until_filed(tmp_path):
    """Between stop and filing, another process's recovery must not take the file."""
    import trayrip
    from trayrip.capture.fake import FakeSource

    rec = trayrip.Recording(source=FakeSource(tone(0.5), RATE, speed=None), folder=tmp_path)
    rec.start(max_seconds=0.5)
    rec.wait_done(10)
    result = rec.stop_capture()
    script = f"from trayrip.filing.recovery import find_leftovers; print(len(find_leftovers([{str(tmp_path)!r}])))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0" and result.part.exists()
    filed = rec.finish()
    assert filed.path.exists() and not result.part.exists()


def test_a_leftover_is_filed_in_the_users_format(tmp_path):
    """Issue 20, defect 11: a recovered recording is FLAC when the user records FLAC (it stayed WAV)."""
    part = crashed_capture(tmp_path)
    [report] = recover_all([tmp_path], format="flac")
    assert report.filed is not None and report.filed.path.suffix == ".flac", report
    assert report.filed.path.name.endswith(" (recovered).flac")
    data, rate = sf.read(report.filed.path)
    assert rate == RATE and abs(len(data) / RATE - 2.4) <= 0.02  # the tone + pads, trimmed
    assert not part.exists() and not list(tmp_path.glob(".trayrip-*"))
