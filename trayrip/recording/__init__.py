"""A stream becomes a safe file: the recorder, the streaming silence tracker,
the BS.1770 loudness meter (ReplayGain), the crash-safe WAV writer, the lock that marks a capture file as in use, and
the pre-roll ring with the stream it keeps open between recordings.

Threads: the recorder thread (``trayrip-recorder``) runs the writer, the
silence tracker and the loudness meter; ``trayrip-preroll`` fills the pre-roll ring; the API's
caller only starts and stops them.

Imports ``capture`` and ``wav``; never ``filing``, ``desktop``, ``api``, ``cli``.
"""
