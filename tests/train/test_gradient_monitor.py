"""GradientMonitor: per-layer gradient norms, update ratios, dead and saturated units."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.callbacks import GradientMonitor, GradientWarning


def _fit(model, X, y, monitor, lr=0.1, epochs=1, loss=None):
    opt = optim.SGD(model.parameters(), lr=lr)
    return cr.fit(model, loss or nn.CrossEntropyLoss(), opt, X, y, epochs=epochs,
                  batch_size=None, callbacks=[monitor], verbose=0)


def test_norms_and_update_ratio_land_in_history(rng):
    cr.manual_seed(0)
    X = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=32)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    w0 = model[0].weight.data.copy()
    history = _fit(model, X, y, GradientMonitor(), lr=0.1)
    record = history.grad_monitor
    assert record["epoch"] == [0]
    assert set(record["grad_norm"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    # one plain SGD step: Δw = -lr·g, so ‖Δw‖/‖w‖ = lr·‖g‖/‖w‖
    g = record["grad_norm"]["0.weight"][0]
    np.testing.assert_allclose(np.linalg.norm(model[0].weight.data - w0), 0.1 * g, rtol=1e-5)
    expected_ratio = 0.1 * g / np.linalg.norm(w0)
    assert record["update_ratio"]["0.weight"][0] == pytest.approx(expected_ratio, rel=1e-5)
    assert "forward" not in vars(model[1])  # the activation wrapper is gone


def test_dead_relu_and_saturated_sigmoid_fractions(rng):
    cr.manual_seed(0)
    X = rng.normal(size=(64, 4)).astype(np.float32)
    y = rng.integers(0, 2, size=64)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.Sigmoid(),
                          nn.Linear(6, 2))
    model[0].bias.data[:3] = -100.0  # three of eight ReLU units can never fire
    model[2].weight.data *= 50.0
    with cr.no_grad():
        hidden = np.maximum(X @ model[0].weight.data.T + model[0].bias.data, 0)
        z = hidden @ model[2].weight.data.T + model[2].bias.data
    s = 1 / (1 + np.exp(-z.astype(np.float64)))
    expected_saturated = np.mean((s < 0.01) | (s > 0.99))
    record = _fit(model, X, y, GradientMonitor(), lr=1e-3).grad_monitor
    assert record["dead_relu"]["1"] == [3 / 8]
    assert record["saturated"]["3"][0] == pytest.approx(expected_saturated, abs=1e-6)


def test_vanishing_gradients_warn_once_per_layer(rng):
    cr.manual_seed(0)
    X = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.integers(0, 2, size=16)
    layers = [nn.Linear(4, 8), nn.Sigmoid()]
    for _ in range(8):
        layers += [nn.Linear(8, 8), nn.Sigmoid()]
    model = nn.Sequential(*layers, nn.Linear(8, 2))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = _fit(model, X, y, GradientMonitor(), epochs=3)
    messages = [str(w.message) for w in caught if issubclass(w.category, GradientWarning)]
    assert any("vanishing gradient in '0.weight'" in m for m in messages)
    assert len(messages) == len(set(messages))  # once per layer, not once per step
    assert history.grad_monitor["warnings"] == messages


def test_exploding_gradients_warn(rng):
    X = rng.normal(size=(16, 3)).astype(np.float32)
    y = rng.normal(size=16).astype(np.float32)
    cr.manual_seed(0)
    model = nn.Linear(3, 1)
    with pytest.warns(GradientWarning, match="exploding gradient in 'weight'"):
        _fit(model, X * 1e6, y, GradientMonitor(), lr=1e-15, loss=nn.MSELoss())


def test_warn_false_records_the_warning_without_raising_it(recwarn):
    monitor = GradientMonitor(vanish_below=1e9, warn=False)  # every gradient "vanishes"
    model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
    X = np.random.default_rng(0).standard_normal((8, 2)).astype(np.float32)
    cr.fit(model, cr.nn.MSELoss(), cr.optim.SGD(model.parameters(), lr=0.1), X, X[:, :1],
           epochs=1, batch_size=8, callbacks=[monitor], verbose=0)
    assert monitor.record["warnings"] and "vanishing gradient" in monitor.record["warnings"][0]
    assert not recwarn.list


def test_samples_per_epoch_sets_the_interval_from_the_epoch_length(rng):
    X = rng.normal(size=(64, 4))
    y = rng.integers(0, 3, size=64)
    records = []
    for monitor in (GradientMonitor(every_n_steps=4), GradientMonitor(samples_per_epoch=2)):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).double()
        history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X,
                         y, epochs=2, batch_size=8, seed=0, verbose=0, callbacks=[monitor])
        records.append(history.grad_monitor)
    assert monitor.every_n_steps == 4  # 8 batches per epoch, 2 samples of each
    assert records[0] == records[1] and records[1]["epoch"] == [0, 1]
    with pytest.raises(ValueError, match="samples_per_epoch must be at least 1"):
        GradientMonitor(samples_per_epoch=0)


@pytest.mark.parametrize("batches, samples, expected", [(41, 4, 11), (7, 4, 2), (3, 4, 1)])
def test_samples_per_epoch_samples_no_more_steps_than_asked(rng, batches, samples, expected):
    X = rng.normal(size=(batches, 4))
    y = rng.integers(0, 3, size=batches)
    monitor = GradientMonitor(samples_per_epoch=samples)
    model = nn.Sequential(nn.Linear(4, 3)).double()
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=1, batch_size=1, verbose=0, callbacks=[monitor])
    assert monitor.every_n_steps == expected
    assert len(range(0, batches, expected)) <= samples


def test_update_ratio_when_the_optimizer_rebuilds_its_buffers_during_a_step(rng):
    """A fused optimizer that drops its flat buffers in the middle of a step (here:
    load_state_dict in a callback) records the same ratios as a plain one."""

    class Reload(cr.callbacks.Callback):
        def on_after_backward(self, state):
            if state.step in (0, 6):
                state.optimizer.load_state_dict(state.optimizer.state_dict())

    X = rng.normal(size=(64, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    records = []
    for fused in (False, True):
        cr.manual_seed(1)
        model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
        opt = optim.Adam(model.parameters(), lr=0.05, fused=fused)
        monitor = GradientMonitor(warn=False)
        cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=16, verbose=0,
               callbacks=[monitor, Reload()], compile=False)
        records.append(monitor.record["update_ratio"])
    plain, fused = records
    for name in plain:
        np.testing.assert_allclose(fused[name], plain[name], rtol=1e-5)
        assert min(plain[name]) > 0


def test_an_epoch_without_a_sampled_step_gets_nan_not_the_next_epochs_value(rng):
    """3 steps an epoch, a sample every 5th step: steps 0, 5, 10, 15 fall in epochs 0, 1, 3,
    5; epochs 2 and 4 have no sample. Every series has one value per epoch, in its epoch."""
    X, y = rng.normal(size=(24, 5)), rng.integers(0, 3, 24)
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    monitor = GradientMonitor(every_n_steps=5, warn=False)
    cr.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), X, y,
           epochs=6, batch_size=8, verbose=0, callbacks=[monitor])
    record = monitor.record
    assert record["epoch"] == [0, 1, 2, 3, 4, 5]
    for key in ("grad_norm", "update_ratio", "dead_relu"):
        for name, series in record[key].items():
            sampled = np.isfinite(np.asarray(series, dtype=float))
            assert sampled.tolist() == [True, True, False, True, False, True], (key, name)
