"""Where one application is heard while trayrip records it (PulseAudio ``--app``; the ``trayrip-app-follow`` thread).

On PulseAudio the application's streams are moved into trayrip's private
sink and a ``module-loopback`` plays that sink on the output they came from.
A stream that was on the default output would have followed the default
when the user plugs in headphones (PulseAudio 15+ moves such streams), so
its loopback must too: a loopback made for the default output is moved to
the new default whenever the default changes, and its stream goes back to
the default (not to the old output) at stop. A loopback made for an output
the user chose for that application stays there.

Pure functions over ``pactl --format=json`` answers; :mod:`.routing` asks
the server and moves.
"""
from __future__ import annotations

import re

__all__ = ["DEFAULT_CHANGED", "default_sink_index", "loopback_moves"]

# What `pactl subscribe` prints when the default output may have changed: the server's
# default changed, or an output went away (its streams are rescued to the default by the server).
DEFAULT_CHANGED = re.compile(r"Event '(?:change' on server|remove' on sink) #")


def default_sink_index(info: dict, sinks: list) -> int | None:
    """The default sink's index from ``pactl info`` and ``pactl list sinks`` (None: no default sink)."""
    name = info.get("default_sink_name")
    for sink in sinks:
        if sink.get("name") == name:
            try:
                return int(sink["index"])
            except (KeyError, TypeError, ValueError):
                return None
    return None


def loopback_moves(sink_inputs: list, modules: set[int], default_sink: int | None) -> list[int]:
    """The sink-inputs of the loopback ``modules`` that do not play on ``default_sink`` (to move there)."""
    if default_sink is None:
        return []
    out = []
    for si in sink_inputs:
        try:
            owner, sink = int(si.get("owner_module")), int(si.get("sink"))
        except (TypeError, ValueError):
            continue
        if owner in modules and sink != default_sink:
            out.append(int(si["index"]))
    return out
