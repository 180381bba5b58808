"""A function over items on a few threads, its answers in the items' order.

The caller's own thread is one of the workers: while a pool thread works on the oldest item,
the caller works on a later one that no thread has started, and an item nobody has started
when its turn comes is done by the caller. So on a machine whose cores are busy the caller
never sits waiting for a thread the machine leaves without a core, and on an idle one the
work spreads over its cores. NumPy and pandas' parser let go of the GIL in their loops,
which is what makes threads worth it here.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["give_back_freed_memory", "in_order", "worker_count"]

WORKERS_MAX = 4  # the loops here gain little from more


def worker_count() -> int:
    """The CPUs this process may use, at most WORKERS_MAX."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, WORKERS_MAX))


def in_order(function: Callable, items: Iterable, workers: int, window: int) -> Generator:
    """function(item) for each item, yielded in the order of `items`, computed on `workers`
    threads (the caller's among them) with at most `window` items begun and not yet
    yielded. An item's exception is raised in its turn, as one thread would have raised it;
    items not begun when the caller stops are dropped."""
    if workers <= 1:
        yield from map(function, items)
        return
    pending: deque = deque()
    with ThreadPoolExecutor(workers - 1) as pool:
        try:
            for item in items:
                pending.append((item, pool.submit(function, item)))
                if len(pending) >= window:
                    yield _oldest(pending, function)
            while pending:
                yield _oldest(pending, function)
        finally:
            for _, future in pending:
                future.cancel()


def _oldest(pending: deque, function: Callable):
    """The answer of the oldest pending item; while a thread works on it, later items that
    no thread has begun are done here."""
    item, future = pending[0]
    for index in range(1, len(pending)):
        if future.done():
            break
        later_item, later = pending[index]
        if later.cancel():  # not begun: done here, now
            pending[index] = (later_item, _run(function, later_item))
    pending.popleft()
    if future.cancel():
        future = _run(function, item)
    return future.result()


def _run(function: Callable, item) -> Future:
    """function(item) as a finished Future (its exception kept for its turn)."""
    future: Future = Future()
    try:
        future.set_result(function(item))
    except Exception as exc:
        future.set_exception(exc)
    return future


def give_back_freed_memory() -> None:
    """glibc keeps what worker threads free in their own arenas, where the caller's thread
    cannot reuse it (about 10 MiB for the benchmark's table, which the fitting after the
    reading would add to its peak); malloc_trim hands it back to the system."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)
