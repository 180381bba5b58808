"""DataLoader(shard=(rank, count)): each process's contiguous slice of every global batch."""

import numpy as np
import pytest

from chainrule.data import DataError, DataLoader


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_the_slices_of_all_ranks_are_the_global_batches(shuffle, count):
    X = np.arange(23.0)[:, None]
    y = np.arange(23) * 10
    whole = DataLoader(X, y, batch_size=8, shuffle=shuffle, seed=4)
    shards = [DataLoader(X, y, batch_size=8, shuffle=shuffle, seed=4, shard=(r, count))
              for r in range(count)]
    for _ in range(2):  # two epochs: a new order each, the same on every rank
        parts = [list(loader) for loader in shards]
        for index, (X_batch, y_batch) in enumerate(whole):
            slices = [part[index] for part in parts]
            assert [len(s[0]) for s in slices] == [
                len(X_batch) * (r + 1) // count - len(X_batch) * r // count for r in range(count)]
            np.testing.assert_array_equal(np.concatenate([s[0] for s in slices]), X_batch)
            np.testing.assert_array_equal(np.concatenate([s[1] for s in slices]), y_batch)
            assert whole.batch_rows(index) == len(X_batch)
    assert all(len(loader) == len(whole) == 3 for loader in shards)
    assert all(loader.state_dict() == whole.state_dict() for loader in shards)


@pytest.mark.parametrize("shard", [(2, 2), (-1, 2), (0, 0), "ab", (1,)])
def test_a_bad_shard_is_refused(shard):
    with pytest.raises(DataError, match="shard"):
        DataLoader(np.zeros((4, 1)), shard=shard)
