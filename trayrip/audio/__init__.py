"""Capture backends behind one protocol (see :mod:`trayrip.audio.base`)."""
