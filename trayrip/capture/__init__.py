"""Where audio comes from: the capture-source protocol and its backends.

Owns: :mod:`.base` (``CaptureSource``, ``Block``, ``DeviceInfo``), the
PortAudio backend (the only PyAudio import), asking the sound server about
sinks and sources (:mod:`.pulse`), choosing the loopback source per OS
(:mod:`.discovery`; what a recorder child connects to is :mod:`.childtarget`,
so choosing imports nothing Linux-only on Windows) and a deterministic fake
for tests.

Threads: driver threads (PortAudio's callback) live here and only copy a
block and ``put_nowait`` it; everything else runs on the caller's thread.

Never imports: ``recording``, ``filing``, ``desktop``, ``api``, ``cli``.
"""
