"""The `curve` data set: a seeded 1-D regression curve."""

import numpy as np

from chainrule.data import load_dataset


def test_curve_follows_its_formula_within_the_noise():
    data = load_dataset("curve", n_samples=500, noise=0.0, test_size=0.2, seed=2)
    assert data.task == "regression" and data.classes is None and data.feature_names == ["x"]
    assert data.X_train.shape == (400, 1) and data.y_train.shape == (400,)
    x = data.X_train[:, 0].astype(np.float64)
    assert x.min() >= -3 and x.max() <= 3
    np.testing.assert_allclose(data.y_train, np.sin(1.5 * x) + x / 3, atol=1e-5)
    noisy = load_dataset("curve", n_samples=500, noise=0.2, test_size=0.2, seed=2)
    residual = noisy.y_train - (np.sin(1.5 * noisy.X_train[:, 0]) + noisy.X_train[:, 0] / 3)
    assert 0.15 < residual.std() < 0.25
    np.testing.assert_array_equal(noisy.X_test, load_dataset("curve", n_samples=500, noise=0.2,
                                                             test_size=0.2, seed=2).X_test)
