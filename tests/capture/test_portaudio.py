"""PortAudioSource against PyAudio's own Stream API (a stand-in stream with exactly its methods), and the
stderr filter's handling of trayrip's own log lines."""
from __future__ import annotations

import logging
import os
from types import SimpleNamespace
from unittest import mock

import pyaudio
import pytest

from trayrip.capture.base import AudioFormat
from trayrip.capture.discovery import CapturePlan
from trayrip.capture.portaudio import PortAudio, _StderrFilter


@pytest.fixture
def source(monkeypatch):
    monkeypatch.setenv("TRAYRIP_DEBUG_PORTAUDIO", "1")  # no fd 2 redirection inside pytest
    stream = mock.create_autospec(pyaudio.PyAudio.Stream, instance=True)  # PyAudio 0.2.14's methods, no others
    module = SimpleNamespace(paInt16=8, paInt24=4, paContinue=0, paInputOverflow=2,
                             PyAudio=lambda: SimpleNamespace(open=lambda **kw: stream, terminate=lambda: None))
    plan = CapturePlan(device_index=0, format=AudioFormat(48000, 2, 2), description="a stand-in device")
    src = PortAudio(module).open_source(plan)
    src.start(lambda block: None)
    return src, stream


def test_a_stream_that_delivered_nothing_is_closed_without_waiting_for_a_block(source):
    """Pa_StopStream would wait 0.8-2 s for a block that never comes; closing a running stream aborts it.
    (It called ``abort_stream``, which PyAudio's Stream does not have: the stream was never closed.)"""
    src, stream = source
    src.stop()
    stream.close.assert_called_once_with()
    stream.stop_stream.assert_not_called()


def test_a_flowing_stream_is_stopped_then_closed(source):
    src, stream = source
    src._callback(bytes(1920 * 4), 1920, {}, 0)  # (the PortAudio thread's call)
    src.stop()
    assert [c[0] for c in stream.mock_calls if c[0] in ("stop_stream", "close")] == ["stop_stream", "close"]


def test_trayrip_s_own_log_lines_pass_through_the_stderr_filter(caplog):
    """``trayrip -vv`` logs PortAudio's lines to stderr, which is the filter's pipe while a stream runs: read
    as noise again, each was logged again, for ever (the log grew by megabytes a second)."""
    own = (b"2026-12-07 20:58:58,409 DEBUG   [trayrip-stderr] trayrip.capture.portaudio: portaudio: "
           b"Expression 'PaAlsaStream_WaitForFrames( stream, &framesAvail, &xrun )' failed in 'x.c', line: 1\n")
    noise = b"Expression 'alsa_snd_pcm_poll_descriptors_revents( ... )' failed in 'x.c', line: 2\n"
    read_fd, write_fd = os.pipe()
    try:
        with caplog.at_level(logging.DEBUG, logger="trayrip.capture.portaudio"):
            left = _StderrFilter._forward(write_fd, own + b"progress\r" + noise)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as out:
            passed = out.read()
    finally:
        for fd in (read_fd, write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
    assert left == b""
    assert passed == own + b"progress\r"
    torn = len(own) // 2  # the pipe may hand our line over in two reads: its second half is not noise either
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as out, os.fdopen(write_fd, "wb") as into:
        assert _StderrFilter._forward(write_fd, own[:torn]) == own[:torn]
        assert _StderrFilter._forward(write_fd, own) == b""
        into.close()
        assert out.read() == own
    assert [r.getMessage() for r in caplog.records] == ["portaudio: " + noise.decode().strip()]
