"""A lost sound server in plain words, and a tooltip that stays on the screen (issue 20, defect 5)."""
from __future__ import annotations

from trayrip.config import Config
from trayrip.desktop.controller import Snapshot
from trayrip.desktop.server_loss import ServerLoss, plain_words
from trayrip.desktop.state import State
from trayrip.desktop.tooltip_text import TOOLTIP_LIMIT
from trayrip.desktop.tray import tooltip

RAW = ("the capture stream from Monitor of Speakers (speakers.monitor) stopped (device or sound server lost): "
       "remote error: id=0 seq:61 res:-32 (Broken pipe): connection error")


def test_the_servers_wording_goes_to_the_log_not_to_the_user(caplog):
    caplog.set_level("INFO")
    text = plain_words(RAW)
    assert text.startswith("the capture stream from Monitor of Speakers (speakers.monitor) stopped (device or sound")
    assert "seq:" not in text and "remote error" not in text and "when the sound server is back" in text
    assert "remote error: id=0 seq:61" in caplog.text
    assert plain_words("disk full") == "disk full"
    down = ("no PulseAudio/PipeWire sound server is reachable (Connection failure: Connection refused): "
            "start your sound server (or check PULSE_SERVER)")
    text = plain_words(down)
    assert "Connection" not in text and "no sound server is reachable" in text and "is back" in text
    assert "Connection failure: Connection refused" in caplog.text


def test_the_loss_is_noted_once_and_the_return_said_once():
    loss = ServerLoss()
    loss.lose("disk full")
    assert not loss.lost  # not a server loss
    loss.lose(RAW)
    assert loss.lost
    for message in ("no PulseAudio/PipeWire sound server is reachable (x): start your sound server",
                    "the sound server went away while waiting for application 'mpv' to play"):
        loss = ServerLoss()
        loss.lose(message)
        assert loss.lost, message
    loss.lose(RAW)
    summary, body = loss.back(preroll=True)
    assert "sound server is back" in summary and "pre-roll is listening again" in body and not loss.lost


def test_the_tooltip_is_bounded():
    long = Snapshot(state=State.ERROR, error=RAW * 5, preroll=10.0, preroll_bytes=1_920_000,
                    config=Config(preroll_seconds=10.0), source="application 'x'" * 20)
    assert len(tooltip(long)) <= TOOLTIP_LIMIT
    idle = Snapshot(preroll=10.0, preroll_bytes=1_920_000, config=Config(preroll_seconds=10.0),
                    source="application 'mpv'")
    assert tooltip(idle) == ("trayrip: ready (Ctrl+Alt+Shift+R records); pre-roll listening to application 'mpv' "
                             "(last 10 s, 1.9 MB)")
    rec = Snapshot(state=State.RECORDING, elapsed=62, source="all system audio")
    assert tooltip(rec) == "trayrip: recording 1:02 from all system audio (Ctrl+Alt+Shift+R stops)"
