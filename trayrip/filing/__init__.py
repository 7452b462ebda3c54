"""After stop: turning a finished capture file into named, tagged recordings.

Owns naming from templates, cutting and claiming a final name
(:mod:`.finish`), reading sources (:mod:`.sources`), encoders
(:mod:`.encoders`; on Windows the ffmpeg of the imageio-ffmpeg wheel,
:mod:`.bundled_ffmpeg`), tags and ReplayGain values (:mod:`.replaygain`), what
the target folder already holds (:mod:`.duplicates`), splitting into tracks,
offline trim/split and the recovery of files a crash left behind.

Threads: the caller's (CLI, API) or the tray's filer thread; ffmpeg runs as
a child process with an argument list.

Imports ``recording``, ``capture`` and ``wav``; never ``desktop``, ``api``, ``cli``.
"""
