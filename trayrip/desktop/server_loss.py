"""A lost sound server (or device), said in plain words, and its return noticed once (controller thread).

When the server dies, the recording, the pre-roll and the next attempts to
re-open fail together: the user hears of it once, in plain words (the
server's own wording, e.g. ``remote error: id=0 seq:61 res:-32 (Broken
pipe)``, goes to the log). The stream watcher reports the server's return
(:mod:`trayrip.capture.stream_events`); then the controller re-opens the
pre-roll, leaves the error state, and says so in one notification. A start
refused because no server answers (pressed while it restarts) is such a
loss too: the icon leaves the error by itself when the server is back.
"""
from __future__ import annotations

import logging
import re

__all__ = ["ServerLoss", "is_loss", "plain_words"]

log = logging.getLogger(__name__)

_LOST = "(device or sound server lost)"
# How the capture side says the server cannot be reached at all (capture/pulse.py, capture/routing.py):
# a start while it is down, or Arm for one application when it went away. Also losses, so its return is told.
_UNREACHABLE = re.compile(r"^no PulseAudio/PipeWire sound server is reachable( \((?P<detail>.*?)\))?|"
                          r"the sound server (went away|did not answer)")
_BACK = "; it is picked up again when the sound server is back"


def is_loss(message: str) -> bool:
    """Whether ``message`` says the sound server (or the device) was lost or cannot be reached."""
    return _LOST in message or _UNREACHABLE.search(message) is not None


def plain_words(message: str) -> str:
    """``message`` without the server's technical detail (after "(device or sound server lost)", or the
    connection error in brackets when no server answers)."""
    head, found, detail = message.partition(_LOST)
    if not found:
        m = _UNREACHABLE.match(message)
        if m is None or not m["detail"]:
            return message
        log.info("the sound server said: %s", m["detail"])
        return "no sound server is reachable (is it stopped, or restarting?)" + _BACK
    if detail.strip(": "):
        log.info("the sound server said: %s", detail.strip(": "))
    return f"{head}{_LOST}{_BACK}"


class ServerLoss:
    """Whether the server was lost and its return not yet told."""

    def __init__(self) -> None:
        self.lost = False

    def lose(self, message: str) -> str:
        """Note the loss; the message to show."""
        self.lost = self.lost or is_loss(message)
        return plain_words(message)

    def back(self, preroll: bool) -> tuple[str, str]:
        """The server answers again: the notification (summary, body) to show, once."""
        self.lost = False
        return "trayrip: the sound server is back", ("pre-roll is listening again; " if preroll else "") + \
            "the next recording can start"
