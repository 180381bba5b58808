"""Built-in data sets: shapes, dtypes, seeded determinism, class balance, linear truth."""

import subprocess
import sys

import numpy as np
import pytest

from chainrule.data import DATASETS, DataError, load_dataset
from chainrule.data import datasets as ds_module

# name -> (n_features, n_classes or None, n_train + n_test) with default arguments
EXPECTED = {
    "xor": (2, 2, 4),
    "moons": (2, 2, 500),
    "circles": (2, 2, 500),
    "spirals": (2, 2, 600),
    "linear": (1, None, 1000),
    "digits": (64, 10, 1797),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shapes_and_dtypes(name):
    n_features, n_classes, total = EXPECTED[name]
    data = load_dataset(name)
    assert data.X_train.dtype == np.float32 and data.X_test.dtype == np.float32
    assert data.X_train.shape[1] == data.X_test.shape[1] == n_features
    assert len(data.X_train) == len(data.y_train) and len(data.X_test) == len(data.y_test)
    assert len(data.X_train) + len(data.X_test) == total
    assert len(data.feature_names) == n_features
    assert np.isfinite(data.X_train).all()
    if n_classes is None:
        assert data.task == "regression" and data.classes is None
        assert data.y_train.dtype == np.float32 and data.y_train.ndim == 1
    else:
        assert data.task == "classification" and len(data.classes) == n_classes
        assert data.y_train.dtype == np.int64
        assert set(np.unique(data.y_train)) == set(range(n_classes))


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "linear", "digits"])
def test_seeded_split_is_deterministic(name):
    a, b, c = load_dataset(name, seed=1), load_dataset(name, seed=1), load_dataset(name, seed=2)
    for field in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.X_train, c.X_train)
    assert len(a.X_test) == round(0.2 * (len(a.X_train) + len(a.X_test)))


@pytest.mark.parametrize("name", ["moons", "circles", "spirals", "digits"])
def test_stratified_split_keeps_class_balance(name):
    data = load_dataset(name)
    y_all = np.concatenate([data.y_train, data.y_test])
    whole = np.bincount(y_all) / len(y_all)
    for part in (data.y_train, data.y_test):
        np.testing.assert_allclose(np.bincount(part) / len(part), whole, atol=0.02)
    if name != "digits":  # the synthetic sets are exactly balanced
        assert np.ptp(np.bincount(y_all)) == 0


def test_xor_truth_table_and_noisy_version():
    data = load_dataset("xor")
    table = {tuple(x): int(t) for x, t in zip(data.X_train.tolist(), data.y_train)}
    assert table == {(0.0, 0.0): 0, (0.0, 1.0): 1, (1.0, 0.0): 1, (1.0, 1.0): 0}
    noisy = load_dataset("xor", n_samples=400, noise=0.1, test_size=0.25)
    assert noisy.X_train.shape == (300, 2) and noisy.X_test.shape == (100, 2)
    corner = np.round(noisy.X_train)  # noise 0.1 rarely moves a point past 0.5
    labels = (corner[:, 0] != corner[:, 1]).astype(int)
    assert (labels == noisy.y_train).mean() > 0.99


def test_spirals_are_not_linearly_separable():
    data = load_dataset("spirals", n_classes=3, n_samples=300)
    assert data.n_classes == 3 and len(data.X_train) + len(data.X_test) == 300
    X = np.c_[data.X_train, np.ones(len(data.X_train))]
    onehot = np.eye(3)[data.y_train]
    w = np.linalg.lstsq(X, onehot, rcond=None)[0]
    assert (np.argmax(X @ w, axis=1) == data.y_train).mean() < 0.7


@pytest.mark.parametrize("n_features", [1, 5])
def test_linear_recovers_true_w_and_b_by_least_squares(n_features):
    data = load_dataset("linear", n_features=n_features, seed=3)
    assert data.true_w.shape == (n_features,) and isinstance(data.true_b, float)
    X = np.c_[data.X_train.astype(np.float64), np.ones(len(data.X_train))]
    solution = np.linalg.lstsq(X, data.y_train.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(solution[:-1], data.true_w, atol=1e-2)
    assert abs(solution[-1] - data.true_b) < 1e-2
    residual = data.y_test - (data.X_test @ data.true_w + data.true_b)
    assert 0.03 < residual.std() < 0.07  # the documented noise, 0.05


def test_digits_scaled_to_unit_interval():
    data = load_dataset("digits")
    assert data.X_train.min() == 0.0 and data.X_train.max() == 1.0
    assert data.classes == list(range(10))


def test_unknown_name_and_bad_sizes():
    with pytest.raises(DataError, match=r"unknown data set 'mnist'.*'mnist1d'"):
        load_dataset("mnist")
    with pytest.raises(DataError, match="n_samples must be an integer >= 2, got 0"):
        load_dataset("moons", n_samples=0)
    assert set(DATASETS) == {"xor", "moons", "circles", "spirals", "linear", "digits", "gaussian", "curve",
                             "mnist1d"}
    assert ds_module.xor is DATASETS["xor"]


def test_import_is_light():
    code = ("import sys, chainrule.data; "
            "print([m for m in sys.modules if m.split('.')[0] in "
            "('sklearn', 'mnist1d', 'matplotlib', 'torch', 'scipy', 'email') "
            "or m == 'importlib.metadata'])")  # the last two: mnist1d's version, when used
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
