"""WAV/RF64 bytes: header layout, O(1) in-place cut, range copies, reading a
WAV by position, PCM sample conversion and positioned file I/O.

Threads: none of its own; pure functions and small objects used by the
recorder thread, the filer and offline tools.

The bottom of the package: imports only ``trayrip.errors`` and the standard
library / numpy; never ``capture``, ``recording``, ``filing``, ``desktop``.
"""
