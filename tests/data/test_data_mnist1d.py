"""MNIST-1D is generated offline by the mnist1d package and cached as .npz (no pickle)."""

import random
import socket

import numpy as np
import pytest

from chainrule.data import load_dataset


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, and a cache folder of our own."""
    def refuse(*args, **kwargs):
        raise AssertionError("mnist1d tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    import requests

    monkeypatch.setattr(requests, "get", refuse)
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_small_sample_matches_the_package_and_is_cached(offline, monkeypatch):
    from mnist1d import data as package

    np.random.seed(123)
    random.seed(123)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    data = load_dataset("mnist1d", num_samples=500, seed=7)
    # make_dataset reseeds the global generators; we put them back
    assert random.getstate() == python_state
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), numpy_state))

    assert data.X_train.shape == (400, 40) and data.X_test.shape == (100, 40)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.task == "classification" and data.classes == list(range(10))
    args = package.get_dataset_args()
    args.num_samples, args.seed = 500, 7
    reference = package.make_dataset(args)
    np.testing.assert_array_equal(data.X_train, reference["x"].astype(np.float32))
    np.testing.assert_array_equal(data.y_test, reference["y_test"])

    cached = list(offline.glob("*.npz"))
    assert [p.name for p in cached] == [data.extra["cache_path"].rsplit("/", 1)[-1]]
    with np.load(cached[0], allow_pickle=False) as npz:
        assert sorted(npz.files) == ["X_test", "X_train", "y_test", "y_train"]

    def refuse(*args, **kwargs):
        raise AssertionError("regenerated although cached")

    monkeypatch.setattr(package, "make_dataset", refuse)
    again = load_dataset("mnist1d", num_samples=500, seed=7)
    np.testing.assert_array_equal(again.X_train, data.X_train)
    np.testing.assert_array_equal(again.y_train, data.y_train)


def test_damaged_cache_is_regenerated(offline):
    first = load_dataset("mnist1d", num_samples=100, seed=1)
    path = first.extra["cache_path"]
    with open(path, "wb") as handle:
        handle.write(b"not an npz file")
    again = load_dataset("mnist1d", num_samples=100, seed=1)
    np.testing.assert_array_equal(again.X_test, first.X_test)
    with np.load(path, allow_pickle=False) as npz:  # rewritten whole
        np.testing.assert_array_equal(npz["X_test"], first.X_test)


def test_default_uses_the_packages_published_arguments(offline, monkeypatch):
    """The defaults are the published set: mnist1d's own default arguments (5,000 examples,
    seed 42, 80 % train). Generating 5,000 takes seconds, so the recorded arguments are
    checked and a 200-example set is made with them instead."""
    from mnist1d import data as package

    real, seen = package.make_dataset, []

    def record(args):
        seen.append(dict(vars(args)))
        args.num_samples = 200
        return real(args)

    monkeypatch.setattr(package, "make_dataset", record)
    data = load_dataset("mnist1d")
    assert seen == [package.get_dataset_args(as_dict=True)]
    assert seen[0]["num_samples"] == 5000 and seen[0]["seed"] == 42
    assert data.X_train.shape == (160, 40) and data.X_test.shape == (40, 40)
    counts = np.bincount(np.concatenate([data.y_train, data.y_test]))
    assert counts.tolist() == [20] * 10  # num_samples // 10 per digit
