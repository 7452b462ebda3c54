"""Run a few independent blocking calls at once (the calling thread waits for all of them).

A one-application start asks the sound server several things (its streams,
its clients, its sinks) and loads the private sink; each is a child process
(``pactl``) that mostly waits on the server. Run one after another they add
up (5-20 ms each); run together they take about as long as the slowest.

Threads: each call but the last runs on a short-lived ``trayrip-together``
thread; the caller runs the last one itself and then joins the others, so
every call has ended when :func:`together` returns, failed or not.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

__all__ = ["Outcome", "together"]

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What one call gave: its value, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None

    def get(self) -> T:
        """The value; re-raises the call's exception."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def _outcome(call: Callable[[], Any]) -> Outcome:
    try:
        return Outcome(value=call())
    except BaseException as exc:  # handed to the caller, never lost on a thread
        return Outcome(error=exc)


def together(*calls: Callable[[], Any]) -> list[Outcome]:
    """Run ``calls`` at the same time; their outcomes in the same order, once all have ended."""
    if not calls:
        return []
    results: list[Outcome | None] = [None] * len(calls)

    def run(i: int) -> None:
        results[i] = _outcome(calls[i])

    threads = [threading.Thread(target=run, args=(i,), name="trayrip-together", daemon=True)
               for i in range(len(calls) - 1)]
    for t in threads:
        t.start()
    run(len(calls) - 1)
    for t in threads:
        t.join()
    return [r if r is not None else Outcome(error=RuntimeError("a call did not report")) for r in results]
