"""DataLoader: mini-batches in a reproducible order that a checkpoint can resume mid-epoch.

Each `iter(loader)` starts a new epoch. With shuffle=True the epoch's order is a permutation
drawn from an epoch seed: derived from (seed, epoch number) when `seed` is given, otherwise
drawn from chainrule.engine.random.generator() when the epoch starts (so cr.manual_seed fixes it).
`state_dict()` records the epoch, its seed and how many batches were served; after
`load_state_dict()` the next `iter(loader)` continues that epoch with the identical order.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import random as cr_random
from .errors import DataError
from .tensor_dataset import collate, is_dataset
from .validate import check_arrays, check_batch_size

__all__ = ["DataLoader"]

_STATE_KEYS = ("epoch", "position", "epoch_seed", "n_examples", "batch_size")


class DataLoader:
    """Iterate over (X_batch, y_batch) pairs, or X batches alone when y is None.

    X may also be a data set object (__len__ and __getitem__, e.g. a TensorDataset), as
    torch's DataLoader(dataset): each batch then stacks its examples field by field.

    batch_size=None takes the whole data set as one batch (batch gradient descent);
    batch_size=1 is stochastic gradient descent; anything between is mini-batch.
    drop_last=True leaves out a final batch smaller than batch_size.

    shard=(rank, count) makes this loader one of `count` data-parallel processes: every
    process draws the same global batches in the same order (give them the same seed) and
    yields its contiguous slice of each, rows [b·rank//count, b·(rank+1)//count) of a global
    batch of b rows; len(), batch_size and state_dict() stay those of the global batches.
    """

    def __init__(
        self, X, y=None, batch_size=32, shuffle=False, drop_last=False, seed=None, shard=None
    ):
        self._dataset = is_dataset(X)
        if self._dataset and y is not None:
            raise DataError("DataLoader: give a data set alone, or arrays X and y")
        self.X, self.y = (X, None) if self._dataset else check_arrays(X, y, finite=False)
        self.batch_size = check_batch_size(batch_size, len(self.X))
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self.shard = _check_shard(shard)
        self.epoch = 0  # epochs begun so far; the current one while iterating
        self._position = 0  # batches served in the current epoch
        self._epoch_seed = None
        self._resume = False

    def __len__(self) -> int:
        n = len(self.X)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _new_epoch_seed(self) -> int | None:
        if not self.shuffle:
            return None
        if self.seed is not None:
            return int(np.random.SeedSequence([self.seed, self.epoch]).generate_state(1)[0])
        return int(cr_random.generator().integers(2**53))  # exact in any JSON reader

    def _order(self) -> np.ndarray | None:
        if self._epoch_seed is None:
            return None
        return np.random.default_rng(self._epoch_seed).permutation(len(self.X))

    def __iter__(self):
        resuming = self._resume and self.epoch > 0 and self._position < len(self)
        if not resuming:
            self.epoch += 1
            self._position = 0
            self._epoch_seed = self._new_epoch_seed()
        self._resume = False
        return self._batches(self._order())

    def batch_rows(self, index: int) -> int:
        """How many rows the global batch number `index` of an epoch has."""
        return min(self.batch_size, len(self.X) - index * self.batch_size)

    def _batches(self, order):
        size = self.batch_size
        while self._position < len(self):
            start = self._position * size
            rows = slice(start, start + size) if order is None else order[start : start + size]
            if self.shard is not None:
                rows = self._slice_of(rows, self.batch_rows(self._position))
            self._position += 1
            if self._dataset:
                picked = range(len(self.X))[rows] if order is None else rows
                yield collate([self.X[int(i)] for i in picked])
            else:
                yield self.X[rows] if self.y is None else (self.X[rows], self.y[rows])

    def _slice_of(self, rows, n_rows):
        rank, count = self.shard
        first, last = n_rows * rank // count, n_rows * (rank + 1) // count
        if isinstance(rows, slice):
            return slice(rows.start + first, rows.start + last)
        return rows[first:last]

    def state_dict(self) -> dict:
        """The data order's state, JSON-serialisable: epoch, its seed, batches served."""
        return {
            "epoch": self.epoch,
            "position": self._position,
            "epoch_seed": self._epoch_seed,
            "n_examples": len(self.X),
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a state; the next iter() continues that epoch where it stopped."""
        missing = [key for key in _STATE_KEYS if key not in state]
        if missing:
            raise DataError(f"DataLoader state is missing {missing}")
        for key in ("n_examples", "batch_size"):
            mine = len(self.X) if key == "n_examples" else self.batch_size
            if state[key] != mine:
                raise DataError(
                    f"DataLoader state has {key}={state[key]}, this loader has "
                    f"{mine}: the data order cannot be resumed"
                )
        self.epoch = int(state["epoch"])
        self._position = int(state["position"])
        seed = state["epoch_seed"]
        self._epoch_seed = None if seed is None else int(seed)
        self._resume = True

    def __repr__(self):
        shard = "" if self.shard is None else f", shard={self.shard}"
        return (
            f"DataLoader(n_examples={len(self.X)}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}{shard})"
        )


def _check_shard(shard):
    """(rank, count) as ints with 0 <= rank < count, or None."""
    if shard is None:
        return None
    try:
        rank, count = (int(v) for v in shard)
    except (TypeError, ValueError):
        raise DataError(f"shard must be a pair (rank, count) of integers, got {shard!r}") from None
    if not 0 <= rank < count:
        raise DataError(f"shard=({rank}, {count}): need 0 <= rank < count")
    return rank, count
