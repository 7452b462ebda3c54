"""A stream becomes a safe file: the recorder, the streaming silence tracker,
the crash-safe WAV writer and the lock that marks a capture file as in use.

Threads: the recorder thread (``trayrip-recorder``) runs the writer and the
silence tracker; the API's caller only starts and stops it.

Imports ``capture`` and ``wav``; never ``filing``, ``desktop``, ``api``, ``cli``.
"""
