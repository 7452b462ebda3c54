"""The native PipeWire backend with fakes: the plan, the pw-record argument list,
and the pipe reader driven by a stand-in child (no sound server)."""
from __future__ import annotations

import queue
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from trayrip.capture import pulse
from trayrip.capture.base import AudioFormat
from trayrip.capture.discovery import plan_pipewire
from trayrip.capture.pipewire import PipeWireSource, PipeWireTarget, parec_argv, raw_pcm_args, record_argv
from trayrip.errors import CaptureError

from test_discovery import PACTL_INFO, PACTL_SOURCES

SINK = "alsa_output.pci-0000_00_1f.3.analog-stereo"


def query(server_name="PulseAudio (on PipeWire 0.3.65)"):
    def q():
        info = pulse.parse_info(PACTL_INFO)
        return pulse.PulseInfo(server_name, info["Default Sink"], info["Default Source"],
                               tuple(pulse.parse_sources(PACTL_SOURCES)))
    return q


def plan(**kw):
    kw.setdefault("platform", "linux")
    kw.setdefault("environ", {"TRAYRIP_CAPTURE": "pw-record"})
    kw.setdefault("pulse_query", query())
    kw.setdefault("which", lambda tool: "/usr/bin/" + tool)
    return plan_pipewire(**kw)


def test_pipewire_server_records_the_default_sinks_monitor_natively():
    p = plan()
    assert p.target == PipeWireTarget(SINK, True, f"Monitor of Built-in Audio Analog Stereo ({SINK}.monitor)",
                                      f"{SINK}.monitor")
    assert (p.format.rate, p.format.channels, p.format.sample_width) == (48000, 2, 2)


def test_the_default_tool_is_pw_record_and_the_user_can_choose():
    assert plan(environ={}).tool == "pw-record"
    assert plan(environ={"TRAYRIP_CAPTURE": "PaRec"}).tool == "parec"
    assert plan(environ={"TRAYRIP_CAPTURE": "portaudio"}) is None


def test_parec_argv_records_the_pulse_name_raw():
    target = PipeWireTarget("speakers", True, "m", "speakers.monitor")
    argv = parec_argv("parec", AudioFormat(96000, 2, 3), target, node_name="trayrip-capture")
    assert argv[:3] == ["parec", "--raw", "--device=speakers.monitor"]
    assert {"--format=s24le", "--rate=96000", "--channels=2", "--property=node.name=trayrip-capture"} <= set(argv)
    with pytest.raises(CaptureError):
        parec_argv("parec", AudioFormat(48000, 2, 2), PipeWireTarget("x", True, "m"))


def test_rate_bits_and_a_named_source():
    p = plan(device="alsa_input.pci-0000_00_1f.3.analog-stereo", rate=96000, bits=24)
    assert p.target.node == "alsa_input.pci-0000_00_1f.3.analog-stereo" and not p.target.capture_sink
    assert (p.format.rate, p.format.sample_width) == (96000, 3)


@pytest.mark.parametrize("kw", [
    {"pulse_query": query("pulseaudio")},          # plain PulseAudio: PortAudio records
    {"environ": {"TRAYRIP_CAPTURE": "portaudio"}},  # the user asked for PortAudio
    {"which": lambda tool: None},                    # no pw-record installed
    {"device": "5"},                                 # a PortAudio index
    {"device": "no such source"},                    # not a server source: PortAudio matches names
    {"platform": "win32"},
])
def test_when_portaudio_records_instead(kw):
    assert plan(**kw) is None


def test_no_default_sink_is_a_clear_error():
    def q():
        return pulse.PulseInfo("PulseAudio (on PipeWire 0.3.65)", None, None, ())
    with pytest.raises(CaptureError, match="no default output"):
        plan(pulse_query=q)


def test_record_argv_for_a_monitor_and_for_linked_ports():
    fmt = AudioFormat(48000, 2, 3)
    argv = record_argv("pw-record", fmt, PipeWireTarget("speakers", True, "x"))
    assert argv[:9] == ["pw-record", "--format", "s24", "--rate", "48000", "--channels", "2", "--latency", "40ms"]
    props = argv[argv.index("-P") + 1]
    assert "stream.capture.sink=true" in props and "node.name=trayrip-capture" in props
    assert argv[-3:] == ["--target", "speakers", "-"]
    assert argv[argv.index("--channel-map") + 1] == "stereo"
    # per-application capture: nobody links us automatically; ports are linked to us
    argv = record_argv("pw-record", AudioFormat(44100, 1, 2), PipeWireTarget(None, False, "app"),
                       node_name="trayrip-app-1")
    props = argv[argv.index("-P") + 1]
    assert "node.autoconnect=false" in props and "stream.capture.sink" not in props
    assert "node.name=trayrip-app-1" in props
    assert argv[-3:] == ["--target", "0", "-"] and "s16" in argv


def fake_child(tmp_path, body: str):
    """A stand-in for pw-record: a script that ignores its arguments (and answers ``--help`` at once,
    unless ``body`` does: the source asks for it before it records)."""
    exe = tmp_path / "fake-pw-record"
    answer_help = "" if "--help" in body else "if '--help' in sys.argv:\n    sys.exit(0)\n"
    exe.write_text(f"#!{sys.executable}\nimport os, sys, time\n{answer_help}" + textwrap.dedent(body))
    exe.chmod(0o700)
    return str(exe)


# pw-record as PipeWire 1.x ships it: with --raw it writes bare PCM, without
# it an AU header ("dns." + 20 bytes) comes first on stdout; 0.3.x has no --raw.
PW_1X = """
    if "--help" in sys.argv:
        print("  -a, --raw                             RAW mode")
        sys.exit(0)
    if "--raw" not in sys.argv:
        os.write(1, b".snd" + bytes(20))
    os.write(1, bytes(range(1, 65)) * 4)
    time.sleep(30)
"""


def test_raw_pcm_args_asks_the_tool_once(tmp_path):
    new = fake_child(tmp_path, PW_1X)
    old = tmp_path / "pw-record-0.3"
    old.write_text(f"#!{sys.executable}\nprint('  -v, --verbose  Enable verbose operations')\n")
    old.chmod(0o700)
    assert raw_pcm_args(new) == ("--raw",)
    assert raw_pcm_args(str(old)) == ()
    old.write_text(f"#!{sys.executable}\nprint('  -a, --raw  RAW mode')\n")
    assert raw_pcm_args(str(old)) == ()  # cached per program and process
    assert raw_pcm_args(str(tmp_path / "missing")) == ()
    argv = record_argv("pw-record", AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "x"), raw=("--raw",))
    assert argv[-2:] == ["--raw", "-"]


def test_pipewire_1x_child_delivers_samples_not_a_header(tmp_path):
    exe = fake_child(tmp_path, PW_1X)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "fake"), exe=exe)
    assert "--raw" in src.argv
    q, sink = collect()
    src.start(sink)
    got = b""
    while len(got) < 256:
        got += q.get(timeout=10).data
    src.stop()
    assert got[:256] == bytes(range(1, 65)) * 4


def collect():
    q: queue.Queue = queue.Queue()
    return q, lambda block: q.put(block) or True


def test_reader_turns_the_pipe_into_whole_frame_blocks(tmp_path):
    # 1001 frames of s16 stereo written in odd-sized pieces, then the child keeps running
    exe = fake_child(tmp_path, """
        data = bytes(range(256)) * 16  # 4096 bytes
        data = data[:4004]
        for i in range(0, len(data), 333):
            os.write(1, data[i:i + 333])
        time.sleep(30)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "fake"), exe=exe)
    q, sink = collect()
    src.start(sink)
    got, frames = b"", 0
    while frames < 1001:
        block = q.get(timeout=10)
        assert len(block.data) % 4 == 0 and block.frames == len(block.data) // 4
        got += block.data
        frames += block.frames
    assert got == (bytes(range(256)) * 16)[:4004]
    assert src.error() is None
    src.stop()
    assert src.pid is None and src.error() is None


def test_reader_gathers_the_pipe_rather_than_waking_for_every_cycle(tmp_path):
    # The child writes a 10 ms cycle every 10 ms, as pw-record does; trayrip reads the pipe
    # at most once per block_interval (each Python wake-up costs CPU), whatever the cycle.
    exe = fake_child(tmp_path, """
        for _ in range(150):
            os.write(1, b"\\x01\\x00" * 2 * 480)
            time.sleep(0.01)
        time.sleep(30)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "fake"), exe=exe)
    q, sink = collect()
    started = time.monotonic()
    src.start(sink)
    blocks, frames = [], 0
    while frames < 150 * 480:
        blocks.append(q.get(timeout=20))
        frames += blocks[-1].frames
    elapsed = time.monotonic() - started
    src.stop()
    assert frames == 150 * 480
    assert len(blocks) <= elapsed / src.block_interval + 2, (len(blocks), elapsed)


def test_a_catch_up_after_a_stall_is_read_before_it_fills_the_pipe(tmp_path):
    # After a stall PipeWire 1.4's null sink writes the cycles it missed as fast as it can. A child that
    # finds the pipe full loses them (a graph does not wait): here, a non-blocking writer that counts what
    # did not fit. It writes one cycle, stalls, then three pipes' worth at ~20x real time. A reader that
    # pauses 0.5 s after the first read following the stall lets the pipe overflow.
    report = tmp_path / "report"
    exe = fake_child(tmp_path, f"""
        import fcntl
        cycle = b"\\x01\\x00" * 2 * 2048
        os.write(1, cycle)
        time.sleep(2.0)  # the stall
        fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK)
        burst = 3 * fcntl.fcntl(1, 1032) // len(cycle)  # F_GETPIPE_SZ, after trayrip widened the pipe
        written, lost = len(cycle), 0
        for _ in range(burst):
            try:
                n = os.write(1, cycle)
            except BlockingIOError:
                n = 0
            written += n
            lost += len(cycle) - n
            time.sleep(0.002)  # 43 ms of audio every 2 ms
        with open({str(report)!r} + ".tmp", "w") as f:
            f.write(f"{{written}} {{lost}}")
        os.rename({str(report)!r} + ".tmp", {str(report)!r})
        time.sleep(30)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "fake"), exe=exe)
    q, sink = collect()
    src.start(sink)
    try:
        received, blocks = 0, 0
        deadline = time.monotonic() + 60
        while not report.exists() or received < int(report.read_text().split()[0]):
            try:
                received += len(q.get(timeout=0.1).data)
                blocks += 1
            except queue.Empty:
                assert src.error() is None
                assert time.monotonic() < deadline, f"{received} bytes handed over; the rest never came"
        written, lost = map(int, report.read_text().split())
    finally:
        src.stop()
    assert lost == 0, f"{lost} bytes of the catch-up did not fit in the pipe"
    assert received == written
    # read every cycle, handed over a block at a time: a recorder holding a catch-up gets blocks, not cycles
    writes = (written + lost) // 8192
    assert blocks <= writes / 4, f"{blocks} blocks for {writes} cycles"


def test_drain_with_an_empty_pipe_returns_at_once(tmp_path):
    exe = fake_child(tmp_path, """
        os.write(1, b"\\x01\\x00" * 2 * 480)
        time.sleep(30)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "fake"), exe=exe)
    q, sink = collect()
    src.start(sink)
    try:
        q.get(timeout=10)
        calls = []
        src._wake.set = lambda: calls.append(1)  # an empty pipe: the reader is not even woken
        src.drain()
        assert calls == []
    finally:
        del src._wake.set
        src.stop()


def test_drain_hands_over_what_is_in_the_pipe_at_once(tmp_path):
    # "Save the last N seconds" must include the newest audio, which waits in the pipe.
    go, written = tmp_path / "go", tmp_path / "written"
    exe = fake_child(tmp_path, f"""
        os.write(1, b"\\x01\\x00" * 2 * 480)
        while not os.path.exists({str(go)!r}):
            time.sleep(0.005)
        os.write(1, b"\\x02\\x00" * 2 * 480)
        open({str(written)!r}, "w").close()
        time.sleep(30)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "fake"), exe=exe)
    src.block_interval = 30  # no regular read comes to help: only drain() can hand the second piece over
    q, sink = collect()
    src.start(sink)
    try:
        assert q.get(timeout=10).data == b"\x01\x00" * 960
        go.touch()
        deadline = time.monotonic() + 10
        while not written.exists():
            assert time.monotonic() < deadline
            time.sleep(0.005)
        src.drain()
        assert q.get_nowait().data == b"\x02\x00" * 960
    finally:
        src.stop()


def test_app_capture_is_native_on_pipewire_and_parec_on_pulseaudio():
    from trayrip.capture.discovery import app_recorder_tool

    have = lambda tool: "/usr/bin/" + tool  # noqa: E731
    assert app_recorder_tool(True, {}, have) == "pw-record"
    assert app_recorder_tool(False, {}, have) == "parec"
    assert app_recorder_tool(True, {"TRAYRIP_CAPTURE": "parec"}, have) == "parec"
    assert app_recorder_tool(True, {}, lambda tool: None) == "parec"


def test_child_that_dies_is_a_stream_error_and_what_came_before_is_delivered(tmp_path):
    exe = fake_child(tmp_path, """
        os.write(1, b"\\x01\\x00" * 2 * 480)
        sys.stderr.write("remote error: id=0 seq:42 res:-32 (Broken pipe): connection error\\n")
        sys.exit(1)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "the monitor"), exe=exe)
    q, sink = collect()
    src.start(sink)
    assert q.get(timeout=10).frames == 480
    while src.error() is None:
        time.sleep(0.01)
    assert "sound server lost" in src.error() and "Broken pipe" in src.error()
    src.stop()


def test_a_child_that_wrote_audio_and_ended_before_the_reader_ran_still_started(tmp_path, monkeypatch):
    # On a loaded machine the reader may first run after the child has already ended: its audio counts.
    exe = fake_child(tmp_path, """
        os.write(1, b"\\x01\\x00" * 2 * 480)
        sys.exit(1)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "the monitor"), exe=exe)
    hand_over = PipeWireSource._hand_over

    def late(self, *args):
        self._wake.wait(2.0)  # the reader runs late: not before start() saw the child end and woke it
        return hand_over(self, *args)

    monkeypatch.setattr(PipeWireSource, "_hand_over", late)
    q, sink = collect()
    src.start(sink)
    assert q.get(timeout=10).frames == 480
    src.stop()


def test_child_that_cannot_connect_fails_start_with_its_message(tmp_path):
    exe = fake_child(tmp_path, """
        sys.stderr.write("error: can't connect: Host is down\\n")
        sys.exit(1)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "the monitor"), exe=exe)
    with pytest.raises(CaptureError, match="Host is down"):
        src.start(lambda block: True)


def test_stop_delivers_what_is_in_the_pipe_then_never_calls_the_sink_again(tmp_path):
    # On SIGTERM the child writes a last piece before exiting: it must reach the sink.
    exe = fake_child(tmp_path, """
        import signal
        def bye(*_):
            os.write(1, b"\\x02\\x00" * 2 * 100)
            os._exit(0)
        signal.signal(signal.SIGTERM, bye)
        os.write(1, b"\\x01\\x00" * 2 * 100)
        while True:
            time.sleep(1)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "m"), exe=exe)
    calls = []
    src.start(lambda block: calls.append(block) or True)
    src.stop()
    n = len(calls)
    assert b"".join(b.data for b in calls) == b"\x01\x00" * 200 + b"\x02\x00" * 200
    assert src.error() is None
    assert len(calls) == n



def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_a_child_started_from_a_short_lived_thread_outlives_the_thread_but_not_the_process(tmp_path):
    """The death signal fires when the forking *thread* exits, so children are forked by
    one long-lived thread: here a child that never writes (no SIGPIPE to kill it) is
    started from a thread that ends at once, survives it, and dies with its process."""
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent("""
            import subprocess, sys, threading, time
            from trayrip.capture.pipewire import spawn_child
            box = []
            t = threading.Thread(target=lambda: box.append(
                spawn_child(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)))
            t.start(); t.join()
            time.sleep(0.2)
            print(box[0].pid, box[0].poll(), flush=True)
            time.sleep(600)
        """)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        pid, code = parent.stdout.readline().split()
        assert code == "None"  # alive after the thread that asked for it ended
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 20  # an upper bound only
        while _state(int(pid)) not in ("gone", "Z") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _state(int(pid)) in ("gone", "Z")
    finally:
        parent.kill()


def test_a_read_that_ends_mid_frame_keeps_the_rest_for_the_next_block(tmp_path):
    """Issue 20, item 6: each piece the child writes ends mid-frame and is read before the next comes."""
    go = tmp_path / "go"
    exe = fake_child(tmp_path, f"""
        data = (bytes(range(256)) * 16)[:4004]
        for k, i in enumerate(range(0, len(data), 333)):
            while not os.path.exists("{go}-%d" % k):
                time.sleep(0.005)
            os.write(1, data[i:i + 333])
        time.sleep(30)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "fake"), exe=exe)
    src.block_interval = 0.01
    q, sink = collect()
    src.start(sink)
    got = b""
    for k in range(13):  # 12 pieces of 333 bytes and one of 8
        (tmp_path / f"go-{k}").touch()
        while len(got) < min(4004, (k + 1) * 333) // 4 * 4:
            block = q.get(timeout=10)
            assert len(block.data) % 4 == 0 and block.frames == len(block.data) // 4, "a torn frame was handed on"
            got += block.data
    src.stop()
    assert got == (bytes(range(256)) * 16)[:4004]


def test_stop_waits_for_the_reader_to_deliver_up_to_the_childs_eof(tmp_path):
    """Issue 20, item 6: on SIGTERM the child still writes for a while; all of it is delivered before stop returns."""
    exe = fake_child(tmp_path, """
        import signal
        def bye(*_):
            for _ in range(4):
                time.sleep(0.1)
                os.write(1, b"\\x02\\x00" * 2 * 100)
            os._exit(0)
        signal.signal(signal.SIGTERM, bye)
        os.write(1, b"\\x01\\x00" * 2 * 100)
        while True:
            time.sleep(1)
    """)
    src = PipeWireSource(AudioFormat(48000, 2, 2), PipeWireTarget("s", True, "m"), exe=exe)
    calls = []

    def busy_sink(block):  # a consumer that takes a while, so the reader is behind when the child exits
        calls.append(block)
        threading.Event().wait(0.25)
        return True

    src.start(busy_sink)
    src.stop()
    assert b"".join(b.data for b in calls) == b"\x01\x00" * 200 + b"\x02\x00" * 800
