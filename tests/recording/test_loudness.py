"""LoudnessMeter against ffmpeg's ebur128 filter (libebur128's algorithm) on EBU Tech 3341 signals and speech/music."""
from __future__ import annotations

import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from loudness_tools import ffmpeg_lufs

from trayrip.recording.loudness import LoudnessMeter, k_weighting
from trayrip.wav.pcm import from_float

# EBU Tech 3341 "minimum requirements" signals 1-5: stereo 1 kHz sines, (seconds, dBFS) in order; all -23 LUFS but #2.
TECH_3341 = {
    1: ([(20, -23)], -23.0),
    2: ([(20, -33)], -33.0),
    3: ([(10, -36), (60, -23), (10, -36)], -23.0),
    4: ([(10, -72), (10, -36), (60, -23), (10, -36), (10, -72)], -23.0),
    5: ([(20, -26), (20.1, -20), (20, -26)], -23.0),
}


def sines(parts, rate: int) -> np.ndarray:
    """Stereo 1 kHz sine, phase continuous across level changes, as float (frames, 2)."""
    n = sum(round(s * rate) for s, _ in parts)
    t = np.arange(n) / rate
    amp = np.concatenate([np.full(round(s * rate), 10 ** (db / 20)) for s, db in parts])
    mono = amp * np.sin(2 * np.pi * 1000 * t)
    return np.repeat(mono[:, None], 2, axis=1)


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 3) -> bytes:
    pcm = from_float(samples, width)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    return pcm


def measure(pcm: bytes, rate: int, channels: int, width: int, block: int) -> LoudnessMeter:
    meter = LoudnessMeter(rate, channels, width)
    step = block * channels * width
    for i in range(0, len(pcm), step):
        meter.feed(pcm[i : i + step])
    return meter


@pytest.mark.parametrize("number", sorted(TECH_3341))
def test_tech_3341_signals_match_ffmpeg_within_a_tenth(tmp_path, number):
    parts, expected = TECH_3341[number]
    rate = 48000
    path = tmp_path / f"tech3341-{number}.wav"
    pcm = write_wav(path, sines(parts, rate), rate)
    meter = measure(pcm, rate, 2, 3, block=4801)  # blocks that never line up with the 100 ms steps
    ours = meter.result().lufs
    theirs = ffmpeg_lufs(path)
    assert abs(ours - theirs) <= 0.1, (ours, theirs)
    assert abs(ours - expected) <= 0.1, (ours, expected)


def test_44k1_and_silence_fed_without_samples(tmp_path):
    """Another rate (own filter coefficients), 16-bit, and a gap fed as silence count the same as zeros."""
    rate = 44100
    sig = sines([(5, -30), (3, -100), (12, -18)], rate)
    sig[5 * rate : 8 * rate] = 0.0
    path = tmp_path / "a.wav"
    pcm = write_wav(path, sig, rate, width=2)
    whole = measure(pcm, rate, 2, 2, block=22050).result()
    gapped = LoudnessMeter(rate, 2, 2)
    bpf = 4
    gapped.feed(pcm[: 5 * rate * bpf])
    gapped.feed_silence(3 * rate)
    gapped.feed(pcm[8 * rate * bpf :])
    assert abs(whole.lufs - ffmpeg_lufs(path)) <= 0.1
    assert abs(gapped.result().lufs - whole.lufs) <= 0.01
    assert abs(whole.peak - 10 ** (-18 / 20)) < 1e-3


def test_speech_and_music_match_ffmpeg(tmp_path):
    """Speech by espeak-ng over chords by sox: a real programme's dynamics and spectrum, mono 22.05 kHz and stereo."""
    espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
    assert espeak and sox, "espeak-ng and sox are part of the test set-up"
    speech = tmp_path / "speech.wav"
    subprocess.run([espeak, "-w", str(speech), "-s", "150",
                    "Loudness is measured while recording, block by block, so that filing costs nothing more. "
                    "Every file gets its ReplayGain tags."], check=True, timeout=60)
    music = tmp_path / "music.wav"
    subprocess.run([sox, "-n", "-r", "44100", "-c", "2", "-b", "16", str(music), "synth", "9",
                    "pluck", "C3", "pluck", "E4", "fade", "0.1", "9", "1", "tremolo", "3", "60",
                    "bass", "+8", "vol", "-6dB"], check=True, timeout=60)
    mix = tmp_path / "mix.wav"
    subprocess.run([sox, "-m", "-v", "0.8", str(music), "-v", "0.6", "|" + f"{sox} {speech} -r 44100 -c 2 -b 16 -p",
                    "-b", "16", str(mix)], check=True, timeout=60)
    for path in (speech, mix):
        with wave.open(str(path)) as w:
            rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            pcm = w.readframes(w.getnframes())
        ours = measure(pcm, rate, channels, width, block=rate // 5).result().lufs
        theirs = ffmpeg_lufs(path)
        assert abs(ours - theirs) <= 0.1, (path.name, rate, ours, theirs)


def test_k_weighting_at_48k_is_the_published_one():
    """BS.1770-4 gives the coefficients at 48 kHz; ours are computed for any rate and must meet them."""
    sos = k_weighting(48000)
    assert np.allclose(sos[0], [1.53512485958697, -2.69169618940638, 1.19839281085285,
                                1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    assert np.allclose(sos[1][3:], [1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)


def test_memory_does_not_grow_and_meters_merge():
    """An hour of blocks lands in the same fixed histogram; two halves merged equal the whole (album gain)."""
    rate = 8000
    a, b = LoudnessMeter(rate, 1), LoudnessMeter(rate, 1)
    whole = LoudnessMeter(rate, 1)
    tone = (0.1 * np.sin(2 * np.pi * 1000 * np.arange(rate * 60) / rate))[:, None]
    loud = tone * 4
    size = whole.counts.nbytes + whole.energies.nbytes
    for _ in range(30):
        a.feed_float(tone)
        whole.feed_float(tone)
    for _ in range(30):
        b.feed_float(loud)
        whole.feed_float(loud)
    a.merge(b)
    assert whole.counts.nbytes + whole.energies.nbytes == size
    assert abs(a.result().lufs - whole.result().lufs) < 0.01
    assert a.result().peak == pytest.approx(0.4, abs=1e-6)


def test_the_compiled_kernel_is_scipys_sosfilt_without_importing_scipy_signal():
    """The meter loads scipy's compiled filter alone (scipy.signal's import costs ~75 MB in a tray app);
    it must filter exactly as the public function does, state included."""
    from trayrip.recording.loudness import _private_kernel, _public_kernel

    rng = np.random.default_rng(1)
    x, zi = rng.standard_normal((2, 5000)), rng.standard_normal((2, 2, 2)) * 0.1
    x2, zi2 = x.copy(), zi.copy()
    _private_kernel()(k_weighting(44100), x, zi)
    _public_kernel()(k_weighting(44100), x2, zi2)
    assert np.array_equal(x, x2) and np.array_equal(zi, zi2)
    code = ("import sys, numpy as np; from trayrip.recording.loudness import LoudnessMeter; "
            "m = LoudnessMeter(48000, 2); m.feed_float(np.ones((48000, 2)) * 0.1); "
            "print(m.result().lufs is not None, 'scipy.signal' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "False"], done.stderr
