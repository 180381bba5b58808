"""TensorDataset and batching of any indexable data set, as torch.utils.data.

A data set is anything with __len__ and __getitem__(i) returning one example: an array, a
tensor, or a tuple of them. DataLoader(dataset, ...) stacks the examples of each batch.
"""

from __future__ import annotations

import numpy as np

from ..engine.tensor import Tensor
from .errors import DataError


class TensorDataset:
    """Examples are the i-th rows of the given tensors (or arrays), all of one length."""

    def __init__(self, *tensors):
        if not tensors:
            raise DataError("TensorDataset: give at least one tensor")
        lengths = {len(t) for t in tensors}
        if len(lengths) != 1:
            raise DataError(
                f"TensorDataset: tensors of different lengths {[len(t) for t in tensors]}"
            )
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(np.asarray(t)) for t in tensors)

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, index):
        return tuple(Tensor(t.data[index]) for t in self.tensors)


def is_dataset(value) -> bool:
    """A data set object rather than an array of examples."""
    return (
        hasattr(value, "__getitem__")
        and hasattr(value, "__len__")
        and not isinstance(value, (np.ndarray, Tensor, list, tuple))
    )


def collate(examples):
    """Stack a batch of examples: tuples field by field, tensors and arrays along a new axis."""
    first = examples[0]
    if isinstance(first, tuple):
        return tuple(collate([e[k] for e in examples]) for k in range(len(first)))
    arrays = [e.data if isinstance(e, Tensor) else np.asarray(e) for e in examples]
    return Tensor(np.stack(arrays)) if isinstance(first, Tensor) else np.stack(arrays)
