"""fit()'s data-parallel seam: what one step of N processes adds to the one-process loop.

fit() calls `state.parallel.synchronize(state)` after backward (eager or compiled) and before
the callbacks see the gradients, clipping and the optimizer step. With one process it does
nothing. With N (an MPI launch, see chainrule.distributed), each process holds its
contiguous slice of every global batch (the DataLoader's shard option), and synchronize()
replaces every gradient by the exact mean over the global batch (one Allreduce over the
flat gradient buffer, each process weighted by its share of the rows) and the batch loss by
the global batch's loss. Every process then takes the same step, so N processes reproduce
the one-process run.

Set-up, by `data_parallel(...)` before the loop: rank 0's weights and buffers broadcast, one
shuffling seed shared, every global batch checked to leave each process a row, BatchNorm
synchronized (see `running`).
"""

from __future__ import annotations

import contextlib

import numpy as np

from .. import distributed as dist
from ..data import DataError

__all__ = ["DataParallel", "OneProcess", "data_parallel"]


class OneProcess:
    """The seam of a plain run: nothing to synchronize."""

    processes = 1
    rank = 0

    def synchronize(self, state) -> None:
        pass

    def running(self):
        return contextlib.nullcontext()


class DataParallel(OneProcess):
    """The seam of a run over `processes` MPI processes, this one being `rank`."""

    def __init__(self, rank: int, processes: int):
        self.rank, self.processes = rank, processes

    def synchronize(self, state) -> None:
        share = len(state.X_batch) / state.loader.batch_rows(state.batch)
        dist.average_gradients((p for _, p in state.params), share, state.optimizer)
        state.loss = dist.sum_scalar(state.loss * share)

    def running(self):
        """BatchNorm normalizes by the global batch's statistics while the run lasts."""
        return dist.synchronized_batch_norm()


def wanted(distributed) -> bool:
    """Whether a run with fit(distributed=...) trains data-parallel: None follows the
    launcher (an MPI launch with several processes), True insists, False declines."""
    if distributed not in (None, True, False):
        raise DataError(f"distributed must be None (automatic), True or False, got {distributed!r}")
    if distributed is False:
        return False
    size = dist.world_size()
    if distributed is True and size == 1:
        raise dist.DistributedError(
            "distributed=True, but this process was not started by an MPI launcher with "
            "several processes: run it as `mpiexec -n N python ...` (mpiexec comes with "
            'pip install "chainrule[mpi]")'
        )
    return size > 1


def data_parallel(distributed, model, loader) -> OneProcess:
    """The seam for this run; for a data-parallel one, sets up model and loader as above."""
    if not wanted(distributed):
        return OneProcess()
    rank, processes = dist.rank(), dist.world_size()
    smallest = loader.batch_rows(len(loader) - 1)
    if smallest < processes:
        raise DataError(
            f"{processes} processes need at least {processes} rows in every batch, but "
            f"{len(loader.X)} rows in batches of {loader.batch_size} leave a last batch of "
            f"{smallest}; choose another batch_size"
        )
    dist.broadcast_parameters(model)
    if loader.shuffle and loader.seed is None:
        # every process draws (keeping the generators in step); rank 0's draw is used
        from ..engine import random as cr_random

        drawn = np.array([cr_random.generator().integers(2**53)], np.int64)
        loader.seed = int(dist.broadcast(drawn)[0])
    loader.shard = (rank, processes)
    return DataParallel(rank, processes)
