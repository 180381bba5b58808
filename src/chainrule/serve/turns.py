"""ENGINE: the turn every thread of the server takes to use chainrule's engine.

The engine's grad mode (`cr.no_grad`) and random generator are process-wide, so one session
drawing its heat map under no_grad would switch off the graph of another session's training
step. Every use of the engine here (a training step, a view, the backprop panel, a saved
model, building a model) therefore holds ENGINE. The turns are first come, first served: a
training thread that releases and asks again at once goes behind the others that wait, so
sessions share the engine evenly (Python's own locks make no such promise). This also bounds
the server's work: one step at a time, whatever the number of sessions.
"""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["ENGINE", "FairLock"]


class FairLock:
    """A re-entrant lock granted in the order it was asked for."""

    def __init__(self):
        self._changed = threading.Condition(threading.Lock())
        self._waiting = deque()
        self._owner, self._depth = None, 0

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return
            self._waiting.append(me)
            self._changed.wait_for(lambda: self._owner is None and self._waiting[0] == me)
            self._waiting.popleft()
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._changed:
            if self._owner != threading.get_ident():
                raise RuntimeError("FairLock released by a thread that does not hold it")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._changed.notify_all()

    def held(self) -> bool:
        """Whether the calling thread holds the lock."""
        return self._owner == threading.get_ident()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


ENGINE = FairLock()
