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
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late  # the builtin from Python 3.11 on

__all__ = ["give_back_freed_memory", "in_order", "worker_count"]

WORKERS_MAX = 4  # the loops here gain little from more


def worker_count() -> int:
    """The CPUs this process may use, at most WORKERS_MAX."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, WORKERS_MAX))


def in_order(
    function: Callable, items: Iterable, workers: int, window: int, spare: bool = False
) -> Generator:
    """function(item) for each item, yielded in the order of `items`, computed on `workers`
    threads (the caller's among them) with at most `window` items begun and not yet
    yielded. An item's exception is raised in its turn, as one thread would have raised it;
    items not begun when the caller stops are dropped. spare: the other threads run at the
    lowest priority, on cores nothing else wants, and an item such a thread is slow to
    finish is done again by the caller (function must then be free of side effects, and
    may still be running for a dropped item when the caller has its answers)."""
    if workers <= 1:
        yield from map(function, items)
        return
    pending: deque = deque()
    patience = [0.0] if spare else None  # how long the caller took for its last item
    pool = ThreadPoolExecutor(workers - 1, initializer=_lowest_priority if spare else None)
    try:
        for item in items:
            began: list = [None]  # when a thread began the item
            pending.append((item, pool.submit(_noting, began, function, item), began))
            if len(pending) >= window:
                yield _oldest(pending, function, patience)
        while pending:
            yield _oldest(pending, function, patience)
    finally:
        # a spare thread's item was done again here, or is not needed: not waited for
        pool.shutdown(wait=not spare, cancel_futures=True)


def _noting(began: list, function: Callable, item):
    began[0] = time.perf_counter()
    return function(item)


def _oldest(pending: deque, function: Callable, patience: list | None):
    """The answer of the oldest pending item; while a thread works on it, later items that
    no thread has begun are done here. With patience (spare threads), an item that its
    thread has not finished within twice the caller's time for an item is done again here."""
    item, future, began = pending[0]
    for index in range(1, len(pending)):
        if future.done():
            break
        later_item, later, _ = pending[index]
        if later.cancel():  # not begun: done here, now
            pending[index] = (later_item, _run(function, later_item, patience), None)
    pending.popleft()
    if future.cancel():
        future = _run(function, item, patience)
    elif patience is not None and not future.done():
        waited = time.perf_counter() - (began[0] or time.perf_counter())
        try:
            return future.result(timeout=max(2 * patience[0] - waited, 0))
        except Late:  # its thread gets no core: the machine is busy
            return _run(function, item, patience).result()
    return future.result()


def _run(function: Callable, item, patience: list | None = None) -> Future:
    """function(item) as a finished Future (its exception kept for its turn); the time it
    took goes to patience."""
    future: Future = Future()
    began = time.perf_counter()
    try:
        future.set_result(function(item))
    except Exception as exc:
        future.set_exception(exc)
    if patience is not None:
        patience[0] = time.perf_counter() - began
    return future


def _lowest_priority() -> None:
    """This thread runs only when a core is free (Linux: each thread has its own nice)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def give_back_freed_memory() -> None:
    """glibc keeps what worker threads free in their own arenas, where the caller's thread
    cannot reuse it (about 10 MiB for the benchmark's table, which the fitting after the
    reading would add to its peak); malloc_trim hands it back to the system."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to hand back
        ctypes.CDLL("libc.so.6").malloc_trim(0)
