"""The data-parallel seam: the one place where gradients would be averaged across processes.

fit() calls `average_gradients(params)` after backward and before clipping and the optimizer
step. With one process it does nothing. Data-parallel training over MPI plugs in here alone:
each process trains on its shard of every batch, and this function replaces each .grad with
the mean over processes (e.g. mpi4py's `comm.Allreduce(grad, out, op=MPI.SUM)`, then divide
by the number of processes), so every process takes the same step and fit() stays as it is.
"""

from __future__ import annotations

__all__ = ["average_gradients", "world_size"]


def world_size() -> int:
    """Number of processes training together (1: no data parallelism)."""
    return 1


def average_gradients(params) -> None:
    """Average each parameter's .grad across processes, in place (a no-op with one process)."""
    if world_size() == 1:
        return
    raise NotImplementedError("data-parallel training is not available yet")
