"""WeightsCopy, shared: the divergence guard's copy of the weights before each step is the one
GradientMonitor measures the step's update ‖Δw‖/‖w‖ from (one copy a step, not two)."""

import numpy as np
import pytest
from test_divergence import WeightLog

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader
from chainrule.train import DivergenceError, weights_copy
from chainrule.train.callbacks import GradientMonitor
from chainrule.train.state import TrainingState


class ExplicitRatios(cr.callbacks.Callback):
    """‖Δw‖/‖w‖ of every step from copies of its own, in float64, averaged per epoch."""

    order = -40  # after the monitor's on_after_backward: both see the weights before the step

    def __init__(self):
        self.epochs, self._steps = [], []

    def on_after_backward(self, state):
        self._before = [(name, p.data.astype(np.float64)) for name, p in state.params]

    def on_batch_end(self, state):
        after = {name: p.data.astype(np.float64) for name, p in state.params}
        self._steps.append({name: np.linalg.norm(after[name] - w) / np.linalg.norm(w)
                            for name, w in self._before})

    def on_epoch_end(self, state):
        self.epochs.append({name: np.mean([s[name] for s in self._steps])
                            for name in self._steps[0]})
        self._steps = []


def _data(rng, n=48):
    X = rng.normal(size=(n, 5))
    return X, rng.integers(0, 3, size=n)


def _model():
    cr.manual_seed(2)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3)).double()


@pytest.mark.parametrize(
    "fused, compile", [(True, True), (True, False), (False, False)],
    ids=["flat-buffer-compiled", "flat-buffer-eager", "per-parameter"])
def test_update_ratios_equal_those_of_explicit_copies(rng, monkeypatch, fused, compile):
    X, y = _data(rng)
    model = _model()
    takes = []
    take = weights_copy.WeightsCopy.take
    monkeypatch.setattr(weights_copy.WeightsCopy, "take",
                        lambda self, state: takes.append(state.step) or take(self, state))
    monitor, explicit = GradientMonitor(warn=False), ExplicitRatios()
    opt = optim.Adam(model.parameters(), lr=0.05, fused=fused)
    cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=8, verbose=0,
           callbacks=[monitor, explicit], compile=compile)
    for epoch, expected in enumerate(explicit.epochs):
        for name, ratio in expected.items():
            assert monitor.record["update_ratio"][name][epoch] == pytest.approx(ratio, rel=1e-12)
    # one copy a step (the guard's; the monitor, sampling every step, takes none of its own)
    # and one as training begins
    assert takes == [0, *range(18)]


def test_without_the_guard_the_monitor_copies_the_weights_itself(rng):
    """A loop of one's own that drives the monitor's hooks (no divergence guard)."""
    X, y = _data(rng, 16)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    state = TrainingState(model=model, loss_fn=loss_fn, optimizer=opt,
                          loader=DataLoader(X, y, batch_size=8), epochs=1)
    monitor = GradientMonitor(warn=False)
    monitor.on_train_begin(state)
    expected = []
    for X_batch, y_batch in state.loader:
        monitor.on_batch_begin(state)
        opt.zero_grad()
        loss_fn(model(cr.tensor(X_batch)), cr.tensor(y_batch)).backward()
        state.gradients_changed()
        monitor.on_after_backward(state)
        before = model[0].weight.data.copy()
        opt.step()
        state.step += 1
        monitor.on_batch_end(state)
        expected.append(np.linalg.norm(model[0].weight.data - before) / np.linalg.norm(before))
    monitor.on_epoch_end(state)
    monitor.close()
    assert state.weights_before is None
    ratio = monitor.record["update_ratio"]["0.weight"][0]
    assert ratio == pytest.approx(np.mean(expected), rel=1e-12)
    assert monitor.record["dead_relu"]["1"][0] >= 0.0


@pytest.mark.parametrize("fused", [False, True], ids=["per-parameter", "flat-buffer"])
def test_the_guard_restores_exact_weights_from_the_copy_it_shares(rng, fused):
    """The monitor sampling every step measures from the guard's copy (its scratch for the
    change lives there too): the guard still puts back the last finite weights exactly."""
    X = rng.normal(size=(64, 3)).astype(np.float32) * 1000
    y = X @ np.array([1.0, -2.0, 0.5], np.float32)
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 1))
    log, monitor = WeightLog(), GradientMonitor(warn=False)
    with pytest.raises(DivergenceError), np.errstate(all="ignore"):
        cr.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.5, fused=fused), X, y,
               epochs=50, batch_size=16, callbacks=[log, monitor], verbose=0)
    assert monitor.state_dict()["ratio"]["counts"]  # it measured steps before the divergence
    finite = [ws for ws in log.seen if all(np.isfinite(w).all() for w in ws)]
    for p, last in zip(model.parameters(), finite[-1]):
        np.testing.assert_array_equal(p.data, last)
