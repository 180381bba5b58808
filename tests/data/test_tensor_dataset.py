"""TensorDataset and DataLoader over any indexable data set, against torch.utils.data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader as TorchLoader
from torch.utils.data import TensorDataset as TorchTensorDataset

import chainrule as cr
from chainrule.data import DataError, DataLoader, TensorDataset

X = np.arange(30.0).reshape(10, 3)
Y = np.arange(10) % 3


def test_tensor_dataset_batches_match_torch():
    ours = list(DataLoader(TensorDataset(cr.tensor(X), cr.tensor(Y)), batch_size=4))
    theirs = list(TorchLoader(TorchTensorDataset(torch.tensor(X), torch.tensor(Y)),
                              batch_size=4))
    assert len(ours) == len(theirs) == 3
    for (xb, yb), (xt, yt) in zip(ours, theirs):
        assert isinstance(xb, cr.Tensor)
        np.testing.assert_array_equal(xb.data, xt.numpy())
        np.testing.assert_array_equal(yb.data, yt.numpy())
    dataset = TensorDataset(cr.tensor(X), cr.tensor(Y))
    assert len(dataset) == 10 and dataset[2][1].item() == 2


class Squares:
    """An indexable data set that is not an array: examples made on demand."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        if not 0 <= i < 7:
            raise IndexError(i)
        return np.array([i, i * i], dtype=np.float32), i % 2


def test_loader_over_any_indexable_data_set_shuffles_every_example_once():
    loader = DataLoader(Squares(), batch_size=3, shuffle=True, seed=0)
    batches = list(loader)
    assert [len(b[1]) for b in batches] == [3, 3, 1]
    firsts = np.concatenate([b[0][:, 0] for b in batches])
    assert sorted(firsts.tolist()) == list(range(7))
    for features, parity in batches:
        np.testing.assert_array_equal(features[:, 1], features[:, 0] ** 2)
        np.testing.assert_array_equal(parity, features[:, 0].astype(int) % 2)


def test_data_set_errors_name_the_problem():
    with pytest.raises(DataError, match="different lengths"):
        TensorDataset(cr.tensor(X), cr.tensor(Y[:5]))
    with pytest.raises(DataError, match="data set alone"):
        DataLoader(Squares(), Y)
