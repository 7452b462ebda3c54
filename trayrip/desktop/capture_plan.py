"""What a recording listens to: one plan, resolved from the settings in effect at a start (controller thread).

Every start path -- hotkey, menu, second instance, ``trayrip toggle``, Arm,
the pre-roll hand-over and Save last N -- asks :func:`resolve` for the
:class:`CapturePlan` of this moment. A warm pre-roll stream remembers the
:attr:`CapturePlan.stream_key` it was opened with; a plan whose key differs
must not be served by that stream (it would record the wrong source), so the
controller re-opens the stream on the new plan and says so.

Pure functions of a :class:`~trayrip.config.Config`: no I/O, no sound
server; which server runs (PipeWire or PulseAudio) is asked when the stream
opens (:func:`trayrip.api.open_default_source`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..config import Config

__all__ = ["CapturePlan", "resolve", "source_label"]


def source_label(device: str | None, app: str | None) -> str:
    """The source in plain words: "all system audio", "application 'mpv'" or "device 'x'"."""
    if app:
        return f"application {app!r}"
    if device:
        return f"device {device!r}"
    return "all system audio"


@dataclass(frozen=True)
class CapturePlan:
    """One resolved start: the recording options and what the stream listens to."""

    options: Any  # trayrip.api.RecordingOptions
    preroll_seconds: float = 0.0

    @property
    def stream_key(self) -> tuple:
        """What an open capture stream is bound to; a warm stream serves only plans with the same key."""
        o = self.options
        return (o.app, o.device, o.rate, o.bits)

    @property
    def warm_key(self) -> tuple | None:
        """The key a pre-roll stream for this plan is opened with (None: pre-roll off)."""
        return (self.preroll_seconds, *self.stream_key) if self.preroll_seconds > 0 else None

    @property
    def label(self) -> str:
        return source_label(self.options.device, self.options.app)

    def serves(self, warm_key: tuple | None) -> bool:
        """True if a warm stream opened with ``warm_key`` records exactly this plan's source."""
        return warm_key is not None and tuple(warm_key[1:]) == self.stream_key

    def all_audio(self) -> CapturePlan:
        """This plan recording every application (the fallback when the chosen one is not playing)."""
        return replace(self, options=replace(self.options, app=None))


def resolve(config: Config, *, armed: bool = False, options: Any = None) -> CapturePlan:
    """The plan for a start now: ``config`` is the settings in effect (after any reload).

    ``options``: a schedule's own recording options, in place of the config's.
    """
    options = options or config.recording_options()
    if armed:
        options = replace(options, wait_for_sound=True)
    return CapturePlan(options, config.preroll_seconds)
