"""DataLoader: batches, coverage, reproducible order, mid-epoch resume."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataError, DataLoader


def _data(n=23, d=3):
    X = np.arange(n * d, dtype=np.float32).reshape(n, d)
    return X, np.arange(n)


def _epoch_rows(loader):
    return [yb.tolist() for _, yb in loader]


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_example_once_per_epoch(shuffle, drop_last):
    X, y = _data()
    loader = DataLoader(X, y, batch_size=5, shuffle=shuffle, drop_last=drop_last, seed=3)
    assert len(loader) == (4 if drop_last else 5)
    for _ in range(3):
        batches = list(loader)
        assert len(batches) == len(loader)
        seen = np.concatenate([yb for _, yb in batches])
        for xb, yb in batches:
            np.testing.assert_array_equal(xb, X[yb])  # X and y rows stay paired
        if drop_last:
            assert len(seen) == 20 and len(set(seen.tolist())) == 20
            assert all(len(yb) == 5 for _, yb in batches)
        else:
            assert sorted(seen.tolist()) == list(range(23))
            assert [len(yb) for _, yb in batches] == [5, 5, 5, 5, 3]


def test_no_shuffle_keeps_order_and_draws_nothing():
    X, y = _data()
    cr.manual_seed(0)
    before = cr.random.get_state()
    loader = DataLoader(X, y, batch_size=4)
    assert np.concatenate([yb for _, yb in loader]).tolist() == list(range(23))
    assert cr.random.get_state() == before


def test_shuffle_changes_order_between_epochs_and_is_seeded():
    X, y = _data(100)
    a = DataLoader(X, y, batch_size=10, shuffle=True, seed=7)
    b = DataLoader(X, y, batch_size=10, shuffle=True, seed=7)
    first, second = _epoch_rows(a), _epoch_rows(a)
    assert first != second
    assert sum(first, []) != list(range(100))
    assert [_epoch_rows(b), _epoch_rows(b)] == [first, second]
    assert _epoch_rows(DataLoader(X, y, batch_size=10, shuffle=True, seed=8)) != first


def test_order_from_the_global_generator_when_no_seed():
    X, y = _data(50)
    orders = []
    for _ in range(2):
        cr.manual_seed(11)
        loader = DataLoader(X, y, batch_size=8, shuffle=True)
        orders.append([_epoch_rows(loader), _epoch_rows(loader)])
    assert orders[0] == orders[1]
    cr.manual_seed(12)
    assert _epoch_rows(DataLoader(X, y, batch_size=8, shuffle=True)) != orders[0][0]


@pytest.mark.parametrize("seed", [5, None])
@pytest.mark.parametrize("stop_after", [0, 3, 7])
def test_resume_mid_epoch_gives_identical_order(seed, stop_after):
    X, y = _data(61)
    cr.manual_seed(2)
    full = DataLoader(X, y, batch_size=8, shuffle=True, seed=seed)
    reference = [_epoch_rows(full) for _ in range(3)]

    cr.manual_seed(2)
    first = DataLoader(X, y, batch_size=8, shuffle=True, seed=seed)
    served = [_epoch_rows(first)]
    iterator = iter(first)
    partial = [next(iterator)[1].tolist() for _ in range(stop_after)]
    state = json.loads(json.dumps(first.state_dict()))  # a checkpoint stores it as JSON
    rng_state = cr.random.get_state()
    del first, iterator  # the run is killed

    cr.manual_seed(999)  # a fresh process, then the checkpoint restores the generator
    cr.random.set_state(rng_state)
    resumed = DataLoader(X, y, batch_size=8, shuffle=True, seed=seed)
    resumed.load_state_dict(state)
    served.append(partial + _epoch_rows(resumed))
    served.append(_epoch_rows(resumed))
    assert served == reference


def test_resume_after_a_finished_epoch_starts_the_next():
    X, y = _data(30)
    full = DataLoader(X, y, batch_size=7, shuffle=True, seed=1)
    reference = [_epoch_rows(full) for _ in range(2)]
    first = DataLoader(X, y, batch_size=7, shuffle=True, seed=1)
    iterator = iter(first)
    epoch = [next(iterator)[1].tolist() for _ in range(len(first))]  # not exhausted
    resumed = DataLoader(X, y, batch_size=7, shuffle=True, seed=1)
    resumed.load_state_dict(first.state_dict())
    assert [epoch, _epoch_rows(resumed)] == reference


def test_state_from_a_different_loader_is_refused():
    X, y = _data(30)
    state = DataLoader(X, y, batch_size=7).state_dict()
    with pytest.raises(DataError, match="batch_size=7, this loader has 6"):
        DataLoader(X, y, batch_size=6).load_state_dict(state)
    with pytest.raises(DataError, match="missing"):
        DataLoader(X, y, batch_size=7).load_state_dict({"epoch": 1})


def test_batch_size_modes_and_x_only():
    X, y = _data(10)
    assert len(DataLoader(X, y, batch_size=None)) == 1  # batch gradient descent
    assert len(DataLoader(X, y, batch_size=1)) == 10  # stochastic gradient descent
    batches = list(DataLoader(X, batch_size=4))
    assert [b.shape for b in batches] == [(4, 3), (4, 3), (2, 3)]


@pytest.mark.parametrize("batch_size", [0, -3, 2.5, "8", True])
def test_bad_batch_size(batch_size):
    X, y = _data(10)
    message = f"batch_size must be a positive integer, got {batch_size!r}"
    with pytest.raises(DataError, match=message):
        DataLoader(X, y, batch_size=batch_size)


def test_lengths_must_match():
    X, y = _data(10)
    with pytest.raises(DataError, match=r"X has 10 rows \(shape \(10, 3\)\), y has 9"):
        DataLoader(X, y[:9])
