"""Recording one application while the output changes (issue 22, item 1, `--app`).

The three-tone scenario with `trayrip record --app NAME`: the application
(one long-lived stream, as a media player keeps) plays tone A on the
speakers, the headphones become the default and it plays B, the headphones
go away and it plays C. Each tone must be at least 90 % in the file, *and*
heard where the user listens: A and C on the speakers, B on the headphones
(their monitors are recorded by the test). PulseAudio: trayrip's loopback
plays on the new default; PipeWire: trayrip's links survive WirePlumber
moving the stream. With ``--muted`` the application is still recorded and
starts playing on neither output.
"""
from __future__ import annotations

import signal

import pytest

import audio_tools as at
from app_player import AppPlayer
from harness import wait_until
from recorder_tools import finish, start_record, wait_for_capture_file
from test_apps_system import server_state, streams_of, trayrip
from test_follow_output_system import FREQS, HEADPHONES, PRESENT, TONE, tone_seconds

pytestmark = pytest.mark.both_servers

APP = "ToneFollower"
MUTED_TONE = 1.0  # nothing is switched for a muted application: shorter tones tell as much


@pytest.fixture(autouse=True)
def _speakers_again(harness):
    yield
    if harness.pulse_ready():  # PulseAudio remembers "headphones" as the configured default
        harness.pactl("set-default-sink", harness.sink)


def _three_tones(harness, player: AppPlayer, headphones: int, seconds: float = TONE) -> None:
    """A on the speakers, B after the switch to the headphones, C after they went away."""
    player.play(at.tone(FREQS["A"], seconds, amplitude=0.4))
    harness.pactl("set-default-sink", HEADPHONES)
    player.play(at.tone(FREQS["B"], seconds, amplitude=0.4))
    harness.remove_sink(headphones)
    assert harness.default_sink() == harness.sink
    player.play(at.tone(FREQS["C"], seconds, amplitude=0.4))


def _record_app(harness, user_env, tmp_path, *args):
    """Headphones added, both monitors recorded, the app playing silence and `trayrip record --app` running."""
    headphones = harness.add_sink(HEADPHONES)
    speakers = harness.record(pinned=True)  # else WirePlumber moves the test's own streams
    phones = harness.record(f"{HEADPHONES}.monitor", pinned=True)
    player = AppPlayer(harness, APP)
    wait_until(lambda: streams_of(harness, APP), 10, "the application's stream")
    folder = tmp_path / "out"
    proc = start_record(user_env, "--app", APP.lower(), *args, "--folder", str(folder))
    wait_for_capture_file(folder)
    return headphones, speakers, phones, player, proc


def _stop_all(proc, speakers, phones, player) -> dict:
    """Ask the recording to stop, stop both monitors and the application: what each output's monitor heard."""
    proc.send_signal(signal.SIGINT)
    heard_on = {"speakers": speakers.stop(), "headphones": phones.stop()}
    player.close()
    return heard_on


def _tones_recorded(proc) -> dict:
    """Seconds of each tone in the file the stopped recording filed."""
    data, rate = at.read_audio(finish(proc))
    return {k: tone_seconds(data, rate, f) for k, f in FREQS.items()}


def test_app_is_recorded_and_heard_on_the_new_output(harness, user_env, tmp_path):
    before = server_state(harness)
    headphones, speakers, phones, player, proc = _record_app(harness, user_env, tmp_path)
    try:
        _three_tones(harness, player, headphones)
    finally:
        heard_on = _stop_all(proc, speakers, phones, player)
    recorded = _tones_recorded(proc)
    heard = {out: {k: tone_seconds(x, 48000, f) for k, f in FREQS.items()} for out, x in heard_on.items()}
    for k in FREQS:
        assert recorded[k] >= PRESENT * TONE, f"tone {k}: {recorded[k]:.2f} s of {TONE} s recorded: {recorded}"
    for out, k in (("speakers", "A"), ("headphones", "B"), ("speakers", "C")):
        assert heard[out][k] >= PRESENT * TONE, f"tone {k}: {heard[out][k]:.2f} s heard on the {out}: {heard}"
    assert heard["speakers"]["B"] <= (1 - PRESENT) * TONE, f"B stayed on the speakers: {heard}"
    assert {k: v for k, v in server_state(harness).items() if k != "streams"} == \
        {k: v for k, v in before.items() if k != "streams"}


def test_muted_app_is_recorded_and_plays_on_no_new_output(harness, user_env, tmp_path):
    headphones, speakers, phones, player, proc = _record_app(harness, user_env, tmp_path, "--muted")
    try:
        _three_tones(harness, player, headphones, MUTED_TONE)
    finally:
        heard_on = _stop_all(proc, speakers, phones, player)
    recorded = _tones_recorded(proc)
    for k in FREQS:
        assert recorded[k] >= PRESENT * MUTED_TONE, f"tone {k}: {recorded[k]:.2f} s of {MUTED_TONE} s: {recorded}"
    for out, x in heard_on.items():
        for k, f in FREQS.items():
            assert tone_seconds(x, 48000, f) == 0, f"muted, but tone {k} was heard on the {out}"


@pytest.mark.parametrize("muted", [False, True], ids=["heard", "muted"])
def test_after_a_kill_the_app_goes_to_the_output_that_is_the_default_now(harness, user_env, tmp_path, muted):
    """kill -9 of `record --app` after the headphones became the default: the next trayrip puts the
    application on the headphones, as a stop would have (PulseAudio moves streams on the default output to
    a new default); it used to go back to the speakers it played on when the recording began."""
    headphones = harness.add_sink(HEADPHONES)
    player = AppPlayer(harness, APP)
    try:
        wait_until(lambda: streams_of(harness, APP), 10, "the application's stream")
        folder = tmp_path / "out"
        proc = start_record(user_env, "--app", APP.lower(), *(["--muted"] if muted else []), "--folder", str(folder))
        wait_for_capture_file(folder)
        harness.pactl("set-default-sink", HEADPHONES)
        proc.kill()
        proc.wait(10)
        done = trayrip(user_env, "recover", "--folder", str(folder))
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
        phones = next(k["index"] for k in harness.pactl_json("list", "sinks") if k["name"] == HEADPHONES)

        def on_the_headphones() -> bool:
            return all(si["sink"] == phones for si in harness.pactl_json("list", "sink-inputs")
                       if si["properties"].get("application.name") == APP)

        wait_until(on_the_headphones, 10, "the application on the headphones, the default output now")
        assert not [m for m in harness.pactl_json("list", "modules") if "trayrip_app_" in m.get("argument", "")]
    finally:
        player.close()
        harness.remove_sink(headphones)
