"""A lost sound server (or device), said in plain words, and its return noticed once (controller thread).

When the server dies, the recording, the pre-roll and the next attempts to
re-open fail together: the user hears of it once, in plain words (the
server's own wording, e.g. ``remote error: id=0 seq:61 res:-32 (Broken
pipe)``, goes to the log). The stream watcher reports the server's return
(:mod:`trayrip.capture.stream_events`); then the controller re-opens the
pre-roll, leaves the error state, and says so in one notification.
"""
from __future__ import annotations

import logging

__all__ = ["ServerLoss", "plain_words"]

log = logging.getLogger(__name__)

_LOST = "(device or sound server lost)"


def plain_words(message: str) -> str:
    """``message`` without the server's technical detail after "(device or sound server lost)"."""
    head, found, detail = message.partition(_LOST)
    if not found:
        return message
    if detail.strip(": "):
        log.info("the sound server said: %s", detail.strip(": "))
    return f"{head}{_LOST}; it is picked up again when the sound server is back"


class ServerLoss:
    """Whether the server was lost and its return not yet told."""

    def __init__(self) -> None:
        self.lost = False

    def lose(self, message: str) -> str:
        """Note the loss; the message to show."""
        self.lost = self.lost or _LOST in message
        return plain_words(message)

    def back(self, preroll: bool) -> tuple[str, str]:
        """The server answers again: the notification (summary, body) to show, once."""
        self.lost = False
        return "trayrip: the sound server is back", ("pre-roll is listening again; " if preroll else "") + \
            "the next recording can start"
