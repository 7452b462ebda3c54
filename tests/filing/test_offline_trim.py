"""`trayrip trim` / trayrip.filing.offline: same detector as live, streamed, any size, byte-exact output."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

import audio_tools as at
from trayrip.filing import offline
from trayrip.capture.base import AudioFormat
from trayrip.filing.offline import analyse, trim_file
from trayrip.wav.pcm import from_float, to_float
from trayrip.recording.silence import SilenceSettings, SilenceTracker
from trayrip.filing.tags import Tags, append_wav_info, read_wav_info
from trayrip.recording.writer import WavWriter

TOL = 0.025
PAD_BEFORE, PAD_AFTER = 0.1, 0.3


def live_tracker(path, settings=None, block=1920) -> SilenceTracker:
    """What the recorder would have measured: the PCM fed in driver-sized blocks."""
    info = sf.info(str(path))
    width = {"PCM_16": 2, "PCM_24": 3}[info.subtype]
    data, _ = sf.read(str(path), dtype="int32", always_2d=True)
    pcm = data.reshape(-1).view(np.uint8).reshape(-1, 4)[:, 4 - width :].tobytes()
    t = SilenceTracker(info.samplerate, info.channels, width, settings)
    bpf = width * info.channels
    for i in range(0, len(pcm), block * bpf):
        t.feed(pcm[i : i + block * bpf])
    return t


def capture(path, data, rate=48000, width=2, rf64_limit=None):
    kwargs = {} if rf64_limit is None else {"rf64_limit": rf64_limit}
    w = WavWriter(path, AudioFormat(rate, data.shape[1], width), **kwargs)
    w.write(from_float(data, width))
    w.close()
    return path


def music(rng, seconds, rate, channels):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 3000) * t) + 0.02 * rng.standard_normal(t.shape)
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


@pytest.mark.parametrize("seed", range(12))
def test_end_scan_equals_the_live_tracker(tmp_path, seed):
    rng = np.random.default_rng(seed)
    rate = int(rng.choice([22050, 44100, 48000, 96000]))
    channels = int(rng.choice([1, 2, 6]))
    width = int(rng.choice([2, 3]))
    parts = [np.zeros((int(rng.uniform(0, 3) * rate) + int(rng.integers(0, 999)), channels), np.float32)]
    for _ in range(int(rng.integers(1, 4))):
        parts.append(music(rng, rng.uniform(0.05, 2), rate, channels))
        parts.append(np.zeros((int(rng.uniform(0, 3) * rate) + int(rng.integers(0, 999)), channels), np.float32))
    data = np.concatenate(parts)
    data[rng.integers(0, len(data), 5)] += np.float32(rng.uniform(0.001, 0.01))  # clicks near the threshold
    settings = SilenceSettings(threshold_db=float(rng.choice([-60.0, -50.0, -40.0])))
    path = capture(tmp_path / "x.wav", data, rate, width)
    live = live_tracker(path, settings, block=int(rng.integers(100, 5000)))
    ends = analyse(path, settings)
    full = analyse(path, settings, full=True)
    assert ends.trim_range == full.trim_range == live.trim_range()
    assert full.regions == live.regions


@pytest.mark.parametrize("width", [2, 3])
def test_samples_read_offline_equal_the_live_conversion(tmp_path, width):
    rng = np.random.default_rng(9)
    data = rng.uniform(-1, 1, (5001, 2)).astype(np.float32)
    path = capture(tmp_path / "x.wav", data, width=width)
    from trayrip.wav.reader import WavSource

    with WavSource(path) as src:
        got = offline._FloatReader(src).read(0, src.frames).copy()
        raw = bytes(src.read(0, src.frames))
    np.testing.assert_array_equal(got, to_float(raw, width, 2))


def bursts_file(tmp_path, name="in.wav", subtype="PCM_16", rate=48000, lead=2.345, tail=3.21):
    b = at.write_bursts(tmp_path / name, [500, 1000, 1500], burst=0.7, gap=0.9, lead=lead, tail=tail, rate=rate)
    if subtype != "PCM_16":
        at.write_wav(b.path, b.data, rate, subtype=subtype)
    return b


def check_trimmed(path, b):
    data, rate = at.read_audio(path)
    starts = at.onsets(data, rate)
    assert abs(starts[0] - PAD_BEFORE) <= TOL, starts
    end_truth = b.offsets[-1] - b.onsets[0] + PAD_BEFORE + PAD_AFTER
    assert abs(len(data) / rate - end_truth) <= TOL


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "trayrip", *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("subtype, rate", [("PCM_16", 44100), ("PCM_24", 96000)])
def test_trim_to_output_is_a_byte_copy_within_25ms(tmp_path, subtype, rate):
    b = bursts_file(tmp_path, subtype=subtype, rate=rate)
    dry = run_cli("trim", "--dry-run", b.path)
    assert dry.returncode == 0, dry.stderr
    start_s, end_s, name = dry.stdout.strip().split("\t")
    assert name == str(b.path)
    assert abs(float(start_s) - (b.onsets[0] - PAD_BEFORE)) <= TOL
    assert abs(float(end_s) - (b.offsets[-1] + PAD_AFTER)) <= TOL
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]  # a dry run writes nothing
    out = tmp_path / "out.wav"
    done = run_cli("trim", b.path, "-o", out)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out)
    check_trimmed(out, b)
    whole, _ = sf.read(str(b.path), dtype="int32")
    cut, _ = sf.read(str(out), dtype="int32")
    start = round(float(start_s) * rate)
    np.testing.assert_array_equal(cut, whole[start : start + len(cut)])
    assert sf.info(str(out)).subtype == subtype
    again = run_cli("trim", b.path, "-o", out)
    assert again.returncode == 1 and "not overwriting" in again.stderr


def test_default_output_is_beside_the_input_and_never_overwrites(tmp_path):
    b = bursts_file(tmp_path)
    for expected in ("in (trimmed).wav", "in (trimmed) (2).wav"):
        done = run_cli("trim", b.path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(tmp_path / expected)
    check_trimmed(tmp_path / "in (trimmed) (2).wav", b)


def test_several_files_into_a_folder(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "out").mkdir()
    b1 = bursts_file(tmp_path / "a", "one.wav")
    b2 = bursts_file(tmp_path / "a", "two.wav", lead=0.5, tail=0.5)
    done = run_cli("trim", b1.path, b2.path, "-o", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == [str(tmp_path / "out" / "one.wav"), str(tmp_path / "out" / "two.wav")]
    check_trimmed(tmp_path / "out" / "one.wav", b1)
    check_trimmed(tmp_path / "out" / "two.wav", b2)
    bad = run_cli("trim", b1.path, b2.path, "-o", tmp_path / "nofolder.wav")
    assert bad.returncode == 2 and "existing folder" in bad.stderr


def test_in_place_short_lead_is_cut_without_copying(tmp_path):
    b = bursts_file(tmp_path, lead=0.8)
    inode = os.stat(b.path).st_ino
    done = run_cli("trim", "--in-place", b.path)
    assert done.returncode == 0, done.stderr
    assert os.stat(b.path).st_ino == inode  # same file: the lead became a JUNK chunk, the tail was truncated
    check_trimmed(b.path, b)


def test_in_place_long_lead_is_copied_then_replaced_atomically(tmp_path, monkeypatch):
    b = bursts_file(tmp_path)
    append_wav_info(b.path, Tags(title="keep me"))  # a chunk after the data: must survive
    os.chmod(b.path, 0o640)
    monkeypatch.setattr(offline, "IN_PLACE_MAX_LEAD", 1000)
    inode = os.stat(b.path).st_ino
    r = trim_file(b.path, in_place=True)
    assert r.output == b.path and os.stat(b.path).st_ino != inode
    assert oct(os.stat(b.path).st_mode & 0o777) == oct(0o640)
    check_trimmed(b.path, b)
    assert read_wav_info(b.path)["INAM"] == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]  # no temporary file left


def test_rf64_and_24_bit_input(tmp_path):
    b = at.tone_bursts([700, 1400], burst=0.5, gap=0.5, lead=1.5, tail=1.0, rate=96000)
    src = capture(tmp_path / "big.wav", b.data, rate=96000, width=3, rf64_limit=10_000)
    assert src.read_bytes()[:4] == b"RF64"
    r = trim_file(src, output=tmp_path / "out.wav")
    check_trimmed(r.output, b)
    assert sf.info(str(r.output)).subtype == "PCM_24"
    r2 = trim_file(src, in_place=True)
    check_trimmed(r2.output, b)
    assert src.read_bytes()[:4] == b"RF64"


def test_flac_input_keeps_format_and_tags(tmp_path):
    b = at.tone_bursts([800], burst=1.0, lead=1.2, tail=0.9)
    src = tmp_path / "song.flac"
    with sf.SoundFile(str(src), "w", 48000, 2, "PCM_24", format="FLAC") as f:
        f.title = "Song"
        f.write(b.data)
    r = trim_file(src)
    assert r.output == tmp_path / "song (trimmed).flac"
    info = sf.info(str(r.output))
    assert info.format == "FLAC" and info.subtype == "PCM_24"
    check_trimmed(r.output, b)
    import mutagen

    assert mutagen.File(str(r.output))["title"] == ["Song"]
    # and to another format by the output's suffix
    r2 = trim_file(src, output=tmp_path / "song.wav")
    check_trimmed(r2.output, b)


def test_silent_file_is_reported_and_nothing_written(tmp_path):
    path = at.write_wav(tmp_path / "quiet.wav", at.silence(2.0))
    done = run_cli("trim", path)
    assert done.returncode == 1 and "digital silence" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiet.wav"]


def test_threshold_and_pads_are_options(tmp_path):
    b = bursts_file(tmp_path)
    done = run_cli("trim", "--dry-run", "--pad-before", "0", "--pad-after", "0", b.path)
    start_s, end_s, _ = done.stdout.split("\t")
    assert abs(float(start_s) - b.onsets[0]) <= TOL and abs(float(end_s) - b.offsets[-1]) <= TOL


def test_unreadable_input_is_one_clear_line(tmp_path):
    bad = tmp_path / "x.wav"
    bad.write_bytes(b"not audio at all")
    done = run_cli("trim", bad)
    assert done.returncode == 1 and "Traceback" not in done.stderr and str(bad) in done.stderr


# Linux counts the memory a process had when it was forked (after vfork: its parent's peak)
# into its ru_maxrss; measuring through a tiny launcher keeps pytest's own size out of it.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))
"""


def peak_rss_mb(code: str) -> float:
    done = subprocess.run([sys.executable, "-S", "-I", "-c", _LAUNCHER, sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    rss_kb, status = done.stdout.split()
    assert status == "0", done.stderr
    return int(rss_kb) / 1024


def test_memory_stays_flat_on_a_large_file(tmp_path):
    """A 3-minute 96 kHz/24-bit file (100 MB): trim and a full split pass stay far below its size."""
    path = tmp_path / "big.wav"
    rate, seconds = 96000, 180
    with sf.SoundFile(str(path), "w", rate, 2, "PCM_24") as f:
        rng = np.random.default_rng(0)
        block = music(rng, 10, rate, 2)
        for i in range(seconds // 10):
            f.write(block if 0 < i < seconds // 10 - 1 else np.zeros_like(block))
    size_mb = path.stat().st_size / 2**20
    assert size_mb > 90
    work = (
        "from trayrip.filing.offline import trim_file, split_file; "
        f"trim_file({str(path)!r}, output={str(tmp_path / 'o.wav')!r}); "
        f"split_file({str(path)!r}, out_dir={str(tmp_path / 'split')!r}, dry_run=True)"
    )
    peak = peak_rss_mb(work)
    base = peak_rss_mb("import trayrip.filing.offline")
    assert peak - base < 20, (peak, base)  # blocks of a second, never the file
    loads_it_all = peak_rss_mb(f"import soundfile; soundfile.read({str(path)!r}, dtype='int32')")
    assert loads_it_all - base > size_mb  # the measurement does see a whole-file load
    assert sf.info(str(tmp_path / "o.wav")).frames < seconds * rate


# -- a real recording made elsewhere (parec on the harness's null sink) ----------------------------------------
def test_trim_a_real_recording(harness, tmp_path):
    played = at.write_bursts(tmp_path / "bursts.wav", [900, 1800], burst=0.6, gap=0.8, lead=0.2, tail=0.2)
    rec = harness.record()
    try:
        harness.play(at.write_wav(tmp_path / "pre.wav", at.silence(0.5)))  # the monitor starts delivering
        harness.play(played.path)
        harness.play(at.write_wav(tmp_path / "post.wav", at.silence(1.0)))
    finally:
        recorded = rec.stop()
    path = at.write_wav(tmp_path / "parec.wav", recorded)
    bursts = at.find_bursts(recorded, 48000, threshold_db=-30)
    assert len(bursts) == 2
    dry = run_cli("trim", "--dry-run", path)
    assert dry.returncode == 0, dry.stderr
    start_s, end_s, _ = dry.stdout.split("\t")
    assert abs(float(start_s) - (bursts[0][0] - PAD_BEFORE)) <= TOL
    assert abs(float(end_s) - (bursts[-1][1] + PAD_AFTER)) <= TOL
    done = run_cli("trim", path, "-o", tmp_path / "cut.wav")
    assert done.returncode == 0, done.stderr
    cut, _ = sf.read(str(tmp_path / "cut.wav"), dtype="int16")
    whole, _ = sf.read(str(path), dtype="int16")
    start = round(float(start_s) * 48000)
    np.testing.assert_array_equal(cut, whole[start : start + len(cut)])
    assert at.onsets(at.read_audio(tmp_path / "cut.wav")[0])[0] == pytest.approx(PAD_BEFORE, abs=TOL)
