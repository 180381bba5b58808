"""fit() and predict(): modes, logs, output, and errors at the public boundary."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataError


def _classifier(n_in=4, n_out=3, dropout=0.0):
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(n_in, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, n_out))


def _data(rng, n=30, n_in=4, n_classes=3):
    return rng.normal(size=(n, n_in)).astype(np.float32), rng.integers(0, n_classes, size=n)


class StepCounter(cr.callbacks.Callback):
    def __init__(self):
        self.batch_sizes = []

    def on_batch_end(self, state):
        self.batch_sizes.append(len(state.X_batch))


@pytest.mark.parametrize("batch_size, expected", [
    (None, [30]),            # batch gradient descent: the whole set, one step per epoch
    (30, [30]),
    (1, [1] * 30),           # stochastic gradient descent: one example per step
    (8, [8, 8, 8, 6]),       # mini-batch gradient descent
])
def test_three_modes_of_gradient_descent(rng, batch_size, expected):
    X, y = _data(rng)
    model = _classifier()
    counter = StepCounter()
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=2, batch_size=batch_size, callbacks=[counter], verbose=0)
    assert counter.batch_sizes == expected * 2


def test_history_logs_every_quantity_per_epoch(rng):
    X, y = _data(rng)
    Xv, yv = _data(rng, n=10)
    model = _classifier()
    opt = optim.SGD(model.parameters(), lr=0.05)
    history = cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=10,
                     validation_data=(Xv, yv), metrics=["accuracy", "log_loss"], verbose=0)
    assert history.epoch == [0, 1, 2]
    for key in ("loss", "accuracy", "log_loss", "val_loss", "val_accuracy", "val_log_loss",
                "lr", "grad_norm", "grad_norm_max", "time"):
        assert len(history.history[key]) == 3, key
    assert history.history["lr"] == [0.05] * 3
    # val_loss is the loss function on the validation set, computed independently here
    logits = cr.predict(model, Xv)
    expected = float(nn.CrossEntropyLoss()(cr.tensor(logits), cr.tensor(yv)).data)
    assert history.history["val_loss"][-1] == pytest.approx(expected, rel=1e-6)
    assert history.history["val_accuracy"][-1] == cr.metrics.accuracy(yv, logits)
    assert history.best_epoch == int(np.argmin(history.history["val_loss"]))
    assert all(g > 0 for g in history.history["grad_norm"])


def test_validation_split_holds_out_the_last_rows(rng):
    X, y = _data(rng, n=40)
    counter = StepCounter()
    model = _classifier()
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     X, y, epochs=1, batch_size=None, validation_split=0.25,
                     callbacks=[counter], verbose=0)
    assert counter.batch_sizes == [30]
    logits = cr.predict(model, X[30:])
    expected = float(nn.CrossEntropyLoss()(cr.tensor(logits), cr.tensor(y[30:])).data)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_verbose_output(rng, capsys):
    X, y = _data(rng)
    model = _classifier()
    opt = optim.SGD(model.parameters(), lr=0.1)
    cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=2, verbose=0)
    assert capsys.readouterr() == ("", "")  # nothing on stdout or stderr
    cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=3, metrics=["accuracy"], verbose=1)
    lines = capsys.readouterr().out.splitlines()  # captured output is not a terminal
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3") and "loss" in lines[0] and "accuracy" in lines[0]
    assert "lr 0.1" in lines[2]


def test_predict_runs_in_eval_mode_without_a_graph(rng):
    X, _ = _data(rng)
    model = _classifier(dropout=0.5)
    model.train()
    first, second = cr.predict(model, X), cr.predict(model, X, batch_size=7)
    np.testing.assert_array_equal(first, second)  # dropout off: deterministic
    assert model.training  # the mode is given back
    with cr.no_grad():
        expected = model.eval()(cr.tensor(X)).data
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    assert isinstance(first, np.ndarray)


@pytest.mark.parametrize("change, message", [
    (dict(y=np.zeros(29, np.int64)), "different lengths"),
    (dict(batch_size=0), "batch_size"),
    (dict(batch_size=-3), "batch_size"),
    (dict(epochs=-1), "epochs"),
    (dict(y=np.array([0, 1, 3] * 10)), "label 3 .* 3 classes"),
    (dict(y=np.array([0, -1, 2] * 10)), "label -1"),
    (dict(X=np.zeros((30, 5), np.float32)), "5 features but the model expects 4"),
    (dict(X=np.full((30, 4), np.nan, np.float32)), "NaN"),
    (dict(validation_split=1.5), "validation_split"),
    (dict(validation_data=(np.zeros((5, 4), np.float32), np.zeros(4, np.int64))), "val_y"),
    (dict(clip_grad_norm=-1.0), "clip_grad_norm"),
    (dict(l2=-0.1), "l2"),
    (dict(verbose=3), "verbose"),
])
def test_bad_input_is_named_at_the_boundary(rng, change, message):
    X, y = _data(rng)
    model = _classifier()
    arguments = dict(X=X, y=y, epochs=1, verbose=0) | change
    with pytest.raises(DataError, match=message):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
               **arguments)


def test_learning_rate_must_be_positive_at_fit_and_at_construction(rng):
    X, y = _data(rng)
    model = _classifier()
    with pytest.raises(DataError, match=r"param_groups\[0\]: lr \(learning rate\) must be a "
                                        r"finite number > 0, got 0"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.0), X, y,
               epochs=1, verbose=0)
    groups = [{"params": model[0].parameters()}, {"params": model[3].parameters(), "lr": 0.0}]
    with pytest.raises(DataError, match=r"param_groups\[1\]"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(groups, lr=0.1), X, y, epochs=1,
               verbose=0)
    with pytest.raises(cr.ChainruleError, match="-0.5"):
        optim.SGD(model.parameters(), lr=-0.5)
    # a warm-up schedule that starts at lr 0 is fine: the optimizer was built with lr 0.1
    opt = optim.SGD(model.parameters(), lr=0.1)
    warmup = optim.lr_scheduler.LinearLR(opt, start_factor=1e-9, total_iters=3)
    opt.param_groups[0]["lr"] = 0.0
    history = cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=2, scheduler=warmup,
                     verbose=0)
    assert history.history["lr"][0] == 0.0 and history.history["lr"][1] > 0


class GradModeProbe(nn.Module):
    """Records whether a graph was being recorded, and the training flag, at each forward."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.seen = []

    def forward(self, x):
        self.seen.append((cr.is_grad_enabled(), self.training))
        return self.inner(x)


def test_predict_records_no_graph_and_fit_does(rng):
    X, y = _data(rng)
    probe = GradModeProbe(_classifier())
    cr.fit(probe, nn.CrossEntropyLoss(), optim.SGD(probe.parameters(), lr=0.1), X, y,
           epochs=1, batch_size=None, verbose=0)
    assert probe.seen[-1] == (True, True)
    probe.seen.clear()
    out = cr.predict(probe, X)
    assert probe.seen == [(False, False)] and probe.training and cr.is_grad_enabled()
    assert out.shape == (30, 3)


def test_validation_loss_is_logged_without_any_metric(rng):
    X, y = _data(rng, n=40)
    model = _classifier()
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     X, y, epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "val_loss", "lr", "grad_norm", "grad_norm_max",
                                    "time"}
    assert all(np.isfinite(history.history["val_loss"]))


def test_predict_checks_the_number_of_features(rng):
    with pytest.raises(DataError, match="3 features but the model expects 4"):
        cr.predict(_classifier(), np.zeros((2, 3), np.float32))


def test_zero_epochs_changes_nothing(rng):
    X, y = _data(rng)
    model = _classifier()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     X, y, epochs=0, verbose=0)
    assert len(history) == 0 and history.best_epoch is None
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_float64_inputs_too_large_for_a_float32_model_are_named_before_the_cast():
    X = np.ones((10, 2))
    X[3, 1] = -1e300  # finite in float64, -inf once cast to the model's float32
    y = np.zeros(10, np.int64)
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(DataError, match=r"X\[3, 1\] = -1e\+300 does not fit the model's float32"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
               epochs=1, verbose=0)
    Xv = np.ones((4, 2))
    Xv[0, 0] = 1e39
    with pytest.raises(DataError, match=r"val_X\[0, 0\] = 1e\+39"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X[:3], y[:3],
               validation_data=(Xv, y[:4]), epochs=1, verbose=0)
