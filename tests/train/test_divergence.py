"""The divergence guard: stop, name where, suggest what, restore the last finite weights."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import DivergenceError


class WeightLog(cr.callbacks.Callback):
    """Copies of the weights at the start of every step."""

    def __init__(self):
        self.seen = []

    def on_batch_begin(self, state):
        self.seen.append([p.data.copy() for _, p in state.params])


@pytest.mark.parametrize("fused", [False, True], ids=["per-parameter", "flat-buffer"])
def test_exploding_regression_stops_with_a_useful_message_and_finite_weights(rng, fused):
    X = rng.normal(size=(64, 3)).astype(np.float32) * 1000  # unstandardized inputs
    y = X @ np.array([1.0, -2.0, 0.5], np.float32)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    log = WeightLog()
    with pytest.raises(DivergenceError) as info, np.errstate(all="ignore"):
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.5, fused=fused), X, y,
               epochs=50, batch_size=16, callbacks=[log], verbose=0)
    error = info.value
    message = str(error)
    assert f"epoch {error.epoch + 1} of 50" in message and f"step {error.step + 1}" in message
    assert "learning rate" in message and "clip" in message and "standardize" in message
    assert isinstance(error, cr.ChainruleError)
    weights = [p.data for p in model.parameters()]
    assert all(np.isfinite(w).all() for w in weights)
    finite_logs = [ws for ws in log.seen if all(np.isfinite(w).all() for w in ws)]
    for w, last in zip(weights, finite_logs[-1]):  # the last finite weights, not older ones
        np.testing.assert_array_equal(w, last)


class Root(nn.Module):
    """sqrt(|x|): an infinite derivative where x = 0."""

    def forward(self, x):
        return x.abs().sqrt()


def test_names_the_first_layer_whose_gradient_is_not_finite():
    model = nn.Sequential(nn.Linear(2, 2), Root(), nn.Linear(2, 1))
    for p in model[0].parameters():
        p.data[...] = 0.0  # layer 0 outputs 0: the gradient below the root is not finite
    X = np.ones((8, 2), np.float32)
    y = np.ones(8, np.float32)
    with pytest.raises(DivergenceError) as info, np.errstate(all="ignore"):
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
               batch_size=None, verbose=0)
    # the last layer's gradient is finite (it sees sqrt(0) = 0); layer 0's is NaN
    assert info.value.parameter == "0.bias"
    assert "'0.bias'" in str(info.value) and "epoch 1 of 1, step 1" in str(info.value)
    assert np.all(model[0].weight.data == 0) and np.isfinite(model[2].weight.data).all()


def test_gradient_norm_is_the_same_from_flat_buffers_and_per_parameter(rng):
    """A fused optimizer with the compiled step leaves gradients in one flat buffer, which
    the guard reads in one call (train/norms.py); the per-parameter sums are the same bits."""
    X = rng.normal(size=(96, 5))
    y = rng.integers(0, 3, size=96)
    norms = {}
    for fused in (False, True):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
        opt = optim.Adam(model.parameters(), lr=1e-2, fused=fused)
        history = cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=4, batch_size=16,
                         seed=0, verbose=0)
        norms[fused] = np.array(history.history["grad_norm"], dtype=float)
    assert np.all(norms[True] > 0)
    np.testing.assert_array_equal(norms[True], norms[False])


class RecastThenPoison(cr.callbacks.Callback):
    """Step 1: after backward, turns every weight into float64 (so the optimizer rebuilds its
    flat buffers after the guard kept the weights); step 2: poisons the weights with NaN."""

    order = 0  # after the guard

    def on_after_backward(self, state):
        if state.step == 1:
            for _, p in state.params:
                p.data = p.data.astype(np.float64)

    def on_batch_begin(self, state):
        if state.step == 2:
            for _, p in state.params:
                p.data[...] = np.nan


def test_restores_the_weights_after_the_optimizer_rebuilt_its_buffers(rng):
    X = rng.normal(size=(48, 3)).astype(np.float32)
    y = rng.normal(size=48).astype(np.float32)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    log = WeightLog()
    with pytest.raises(DivergenceError), np.errstate(all="ignore"):
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), X, y, epochs=1,
               batch_size=16, shuffle=False, callbacks=[log, RecastThenPoison()], verbose=0)
    # kept at step 1 (before its update): the weights logged as step 1 began
    for p, kept in zip(model.parameters(), log.seen[1]):
        assert p.data.dtype == np.float64
        np.testing.assert_array_equal(p.data, kept)
