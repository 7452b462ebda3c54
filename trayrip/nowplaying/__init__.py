"""What the media player plays: MPRIS track changes, and where they fall in the audio.

* :mod:`.metadata` — MPRIS ``Metadata`` dicts become :class:`TrackInfo` (pure);
  :mod:`.ads` says which items are advertisements (the documented rules).
* :mod:`.watcher` — :class:`PlayerWatcher`, a named worker thread that owns
  its own session-bus connection (through :mod:`trayrip.sessionbus`), follows
  the playing ``org.mpris.MediaPlayer2.*`` player and posts
  :class:`PlayerEvent` snapshots, stamped with ``time.monotonic()``, into a queue.
* :mod:`.boundary` — where a track really changes in the audio near a signal
  (silence, or the largest change of the spectrum), numpy only.
* :mod:`.timeline` — events + the recorder's clock map + the audio become the
  frame ranges of each track (pauses cut out, partial tracks marked).

Sits beside ``filing``: ``api`` and ``desktop`` may import it; it may import
``recording``, ``capture`` and ``wav``, and never ``filing``, ``api`` or ``desktop``.
"""
from .metadata import PlayerEvent, TrackInfo

__all__ = ["PlayerEvent", "TrackInfo"]
