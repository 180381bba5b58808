"""The `gaussian` data set: two seeded Gaussian clouds, balanced and stratified."""

import numpy as np
import pytest

from chainrule.data import DataError, load_dataset


def test_gaussian_is_two_balanced_clouds_around_plus_and_minus_one():
    data = load_dataset("gaussian", n_samples=400, noise=0.0, test_size=0.25, seed=3)
    assert data.X_train.shape == (300, 2) and data.X_test.shape == (100, 2)
    assert data.X_train.dtype == np.float32 and data.classes == [0, 1]
    y = np.concatenate([data.y_train, data.y_test])
    X = np.concatenate([data.X_train, data.X_test])
    assert (y == 0).sum() == (y == 1).sum() == 200
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [1, 1], atol=0.1)
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [-1, -1], atol=0.1)
    np.testing.assert_allclose(X[y == 0].std(axis=0), [0.3, 0.3], atol=0.05)


def test_gaussian_noise_widens_the_clouds_and_the_seed_fixes_them():
    quiet = load_dataset("gaussian", noise=0.0, seed=1)
    noisy = load_dataset("gaussian", noise=0.5, seed=1)
    assert noisy.X_train.std() > quiet.X_train.std()
    np.testing.assert_array_equal(load_dataset("gaussian", seed=1).X_train,
                                  load_dataset("gaussian", seed=1).X_train)


def test_gaussian_rejects_too_few_points():
    with pytest.raises(DataError, match="n_samples"):
        load_dataset("gaussian", n_samples=1)
