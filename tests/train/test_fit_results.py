"""The results the texts promise: XOR, moons, spirals, linear regression in all three modes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim


def _accuracy(model, X, y):
    return cr.metrics.accuracy(y, cr.predict(model, X))


@pytest.mark.parametrize("activation, hidden", [(nn.Sigmoid, 2), (nn.Tanh, 4)])
def test_xor_is_learned(activation, hidden):
    cr.manual_seed(0)
    data = cr.data.xor()
    model = nn.Sequential(nn.Linear(2, hidden), activation(), nn.Linear(hidden, 1))
    opt = optim.Adam(model.parameters(), lr=0.05)
    history = cr.fit(model, nn.BCEWithLogitsLoss(), opt, data.X_train, data.y_train,
                     epochs=1500, batch_size=None, metrics=["accuracy"], verbose=0)
    assert _accuracy(model, data.X_train, data.y_train) == 1.0
    assert history.history["accuracy"][-1] == 1.0
    assert history.history["loss"][-1] < 0.1


@pytest.mark.parametrize("name", ["moons", "spirals"])
def test_nonlinear_2d_data_fits_with_a_small_relu_mlp(name):
    cr.manual_seed(0)
    data = cr.data.load_dataset(name, seed=0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                          nn.Linear(64, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    cr.fit(model, nn.CrossEntropyLoss(), opt, data.X_train, data.y_train, epochs=200,
           batch_size=64, seed=0, verbose=0)
    assert _accuracy(model, data.X_train, data.y_train) >= 0.99


@pytest.mark.parametrize("batch_size, lr, epochs", [
    (None, 0.1, 300),   # batch gradient descent
    (1, 0.002, 5),      # stochastic gradient descent
    (32, 0.05, 40),     # mini-batch gradient descent
])
def test_linear_regression_recovers_w_and_b_in_each_mode(batch_size, lr, epochs):
    cr.manual_seed(0)
    data = cr.data.linear(n_features=3, seed=0)
    model = nn.Linear(3, 1)
    opt = optim.SGD(model.parameters(), lr=lr)
    cr.fit(model, nn.MSELoss(), opt, data.X_train, data.y_train, epochs=epochs,
           batch_size=batch_size, seed=0, verbose=0)
    np.testing.assert_allclose(model.weight.data.ravel(), np.ravel(data.true_w), atol=1e-2)
    np.testing.assert_allclose(model.bias.data.ravel(), np.ravel(data.true_b), atol=1e-2)
