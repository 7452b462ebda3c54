"""Recording one application (`trayrip apps`, `trayrip record --app`) on both servers.

Two paplay clients with different application names play different tones;
recording one of them must hold its tone and not the other's, while the
default sink's monitor (what the user hears) still carries both; a second
stream of the recorded application started mid-recording is followed; and
the server is left as it was, after a stop and after a kill -9 + the next
trayrip start.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

import audio_tools as at
from harness import wait_until
from test_capture_system import finish, start_record, wait_for_capture_file

pytestmark = pytest.mark.both_servers

ALPHA, BETA, ALPHA2 = 700, 1900, 1200


def play_as(harness, app: str, path) -> subprocess.Popen:
    return subprocess.Popen(
        ["paplay", f"--device={harness.sink}", f"--property=application.name={app}", str(path)],
        env=harness.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def server_state(harness) -> dict:
    """What trayrip must leave as it found it: modules, sinks, sources, and which sink each stream is on."""
    def names(kind):
        return sorted((x.get("name"), x.get("argument", "")) for x in harness.pactl_json("list", kind))
    return {
        "modules": names("modules"), "sinks": names("sinks"), "sources": names("sources"),
        "streams": sorted((si["properties"].get("application.name"), si["sink"])
                          for si in harness.pactl_json("list", "sink-inputs")),
    }


def streams_of(harness, app: str) -> int:
    return sum(si["properties"].get("application.name") == app for si in harness.pactl_json("list", "sink-inputs"))


def trayrip(env, *args, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trayrip", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def two_apps(harness, tmp_path):
    alpha = at.write_wav(tmp_path / "alpha.wav", at.tone(ALPHA, 12.0))
    beta = at.write_wav(tmp_path / "beta.wav", at.tone(BETA, 12.0))
    before = server_state(harness)
    players = [play_as(harness, "ToneAlpha", alpha), play_as(harness, "ToneBeta", beta)]
    try:
        wait_until(lambda: streams_of(harness, "ToneAlpha") and streams_of(harness, "ToneBeta"), 10,
                   "both players' streams")
        yield before, players
    finally:
        for p in players:
            p.terminate()
            p.wait(5)


def test_record_one_app_while_the_user_hears_both(harness, user_env, tmp_path, two_apps):
    before, players = two_apps
    listed = trayrip(user_env, "apps")
    assert listed.returncode == 0, listed.stderr
    assert "ToneAlpha" in listed.stdout and "ToneBeta" in listed.stdout
    assert listed.stdout.splitlines()[0].split() == ["application", "binary", "pid"]  # a header (defect 11)
    assert all(str(p.pid) in listed.stdout for p in players)  # the process ids

    folder = tmp_path / "out"
    heard = harness.record()  # the default sink's monitor: what the user hears
    proc = start_record(user_env, "--app", "tonealpha", "--no-trim", "--folder", str(folder))
    wait_for_capture_file(folder)
    time.sleep(1.5)
    second = play_as(harness, "ToneAlpha", at.write_wav(tmp_path / "alpha2.wav", at.tone(ALPHA2, 1.5)))
    second.wait(10)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    path = finish(proc)
    monitor = heard.stop()

    data, rate = at.read_audio(path)
    assert len(data) / rate > 2.5
    assert at.band_level_db(data, ALPHA, rate) > -20
    assert at.band_level_db(data, BETA, rate) < at.band_level_db(data, ALPHA, rate) - 30
    # the application's second stream, opened mid-recording, is in the file
    assert at.band_level_db(data, ALPHA2, rate) > -30
    # meanwhile the default sink carried both applications
    assert at.band_level_db(monitor, ALPHA) > -20 and at.band_level_db(monitor, BETA) > -20
    assert server_state(harness) == before | {"streams": server_state(harness)["streams"]}
    still = harness.pactl_json("list", "sink-inputs")
    sink_index = next(s["index"] for s in harness.pactl_json("list", "sinks") if s["name"] == harness.sink)
    assert all(si["sink"] == sink_index for si in still
               if si["properties"].get("application.name", "").startswith("Tone"))


def test_no_matching_app_exits_1_and_lists_what_plays(harness, user_env, tmp_path, two_apps):
    before, _ = two_apps
    done = trayrip(user_env, "record", "--app", "no-such-player", "--folder", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "no-such-player" in done.stderr and "ToneAlpha" in done.stderr and "ToneBeta" in done.stderr
    assert "Recording" not in done.stderr, "a cheerful line before the error"  # issue 20, defect 7
    assert "Traceback" not in done.stderr
    assert server_state(harness)["modules"] == before["modules"]


def kill_9_while_recording(harness, user_env, folder, before: dict, app: str) -> None:
    """`trayrip record --app` killed with SIGKILL once its route is in place."""
    proc = start_record(user_env, "--app", app, "--folder", str(folder))
    wait_for_capture_file(folder)
    assert server_state(harness)["modules"] != before["modules"]  # the route is in place
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def test_kill_9_then_next_start_restores_the_server(harness, user_env, tmp_path, two_apps):
    before, _ = two_apps
    folder = tmp_path / "out"
    kill_9_while_recording(harness, user_env, folder, before, "ToneBeta")
    done = trayrip(user_env, "recover", "--folder", str(folder))
    assert done.returncode in (0, 1), done.stderr
    after = server_state(harness)
    assert after["modules"] == before["modules"]
    assert after["sinks"] == before["sinks"] and after["sources"] == before["sources"]
    sink_index = next(s["index"] for s in harness.pactl_json("list", "sinks") if s["name"] == harness.sink)
    assert all(si["sink"] == sink_index for si in harness.pactl_json("list", "sink-inputs")
               if si["properties"].get("application.name", "").startswith("Tone"))


def listed(every: str, none: str = "") -> str:
    """A pattern for the tray log's line naming the playing applications."""
    ahead = "".join(f"(?=[^\\n]*{name})" for name in every.split())
    ahead += "".join(f"(?![^\\n]*{name})" for name in none.split())
    return rf"applications playing: {ahead}[^\n]*\n"


def test_tray_start_undoes_a_killed_app_recording_and_its_list_follows_what_plays(
        harness, user_env, tmp_home, tmp_path):
    """kill -9 of `record --app`, then the tray app starts: the server is as before. The tray's
    "Record from" list then follows a player that starts and one that ends, with no click."""
    from test_tray_system import App

    alpha = at.write_wav(tmp_path / "alpha.wav", at.tone(ALPHA, 60.0))
    beta = at.write_wav(tmp_path / "beta.wav", at.tone(BETA, 60.0))
    gamma = at.write_wav(tmp_path / "gamma.wav", at.tone(ALPHA2, 60.0))
    players = [play_as(harness, "ToneAlpha", alpha), play_as(harness, "ToneBeta", beta)]
    app = None
    try:
        wait_until(lambda: streams_of(harness, "ToneAlpha") and streams_of(harness, "ToneBeta"), 20, "both players")
        before = server_state(harness)
        kill_9_while_recording(harness, user_env, tmp_path / "out", before, "ToneBeta")
        app = App(harness, user_env, tmp_home, tmp_path)
        wait_until(lambda: server_state(harness) == before, 30, "the server as it was before the killed recording")
        app.wait_log(listed(every="ToneAlpha ToneBeta", none="ToneGamma"), timeout=30)
        players.append(play_as(harness, "ToneGamma", gamma))  # nobody clicks "Refresh list"
        app.wait_log(listed(every="ToneAlpha ToneBeta ToneGamma"), timeout=30)
        players[0].terminate()
        app.wait_log(listed(every="ToneBeta ToneGamma", none="ToneAlpha"), timeout=30)
    finally:
        for p in players:
            p.terminate()
        if app is not None:
            app.stop()


def test_arm_for_one_application_waits_for_it_to_play(harness, user_env, tmp_path):
    """Issue 20, item 5: armed with an application that is not playing yet, trayrip waits for it (it does not
    fall back to all audio); the decoy playing meanwhile is not recorded."""
    decoy = play_as(harness, "ToneBeta", at.write_wav(tmp_path / "beta.wav", at.tone(BETA, 30.0)))
    alpha = None
    try:
        wait_until(lambda: streams_of(harness, "ToneBeta"), 10, "the decoy's stream")
        folder = tmp_path / "out"
        proc = subprocess.Popen(
            [sys.executable, "-m", "trayrip", "record", "--app", "ToneAlpha", "--wait-for-sound", "-d", "2",
             "--no-trim", "--folder", str(folder)],
            env=user_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # armed: nothing matches yet, and nothing is routed or filed while it waits
        wait_until(lambda: proc.poll() is not None or list(folder.glob(".trayrip-*.wav.part")), 20, "the armed capture")
        assert proc.poll() is None, proc.communicate()
        assert not [m for m in harness.pactl_json("list", "modules") if "trayrip_app_" in str(m.get("argument"))]
        alpha = play_as(harness, "ToneAlpha", at.write_wav(tmp_path / "alpha.wav", at.tone(ALPHA, 10.0)))
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "Waiting for sound from application 'ToneAlpha'" in err.splitlines()[0], err
    finally:
        decoy.terminate()
        if alpha is not None:
            alpha.terminate()
    data, rate = at.read_audio(out.strip().splitlines()[-1])
    assert len(data) / rate >= 1.9
    assert at.band_level_db(data, ALPHA, rate) > -20
    assert at.band_level_db(data, BETA, rate) < at.band_level_db(data, ALPHA, rate) - 30, "the decoy was recorded"
