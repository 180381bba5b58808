"""Built-in callbacks: early stopping, checkpoints, CSV, schedules, progress bar."""

import csv
import io
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import load_checkpoint


def _setup(rng, n=40):
    cr.manual_seed(0)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 6), nn.ReLU(), nn.Linear(6, 2))
    return model, X, y


class ScriptedLogs(cr.callbacks.Callback):
    """Replaces val_loss with a scripted sequence (runs before the callbacks under test)."""

    order = -10

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, state):
        state.logs["val_loss"] = self.values[state.epoch]


class WeightsPerEpoch(cr.callbacks.Callback):
    order = -5

    def __init__(self):
        self.weights = []

    def on_epoch_end(self, state):
        self.weights.append({k: v.copy() for k, v in state.model.state_dict().items()})


@pytest.mark.parametrize("patience, stopped", [(1, 3), (2, 4), (10, None)])
def test_early_stopping_stops_and_restores_the_best_weights(rng, patience, stopped):
    model, X, y = _setup(rng)
    values = [1.0, 0.8, 0.5, 0.6, 0.55, 0.7, 0.9, 0.95]  # best at epoch 2
    weights = WeightsPerEpoch()
    stopper = cr.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=len(values), validation_split=0.25,
           callbacks=[ScriptedLogs(values), weights, stopper], verbose=0)
    assert stopper.stopped_epoch == stopped and stopper.best_epoch == 2
    assert len(weights.weights) == (stopped + 1 if stopped else len(values))
    for key, value in model.state_dict().items():  # restored, whether or not it stopped
        np.testing.assert_array_equal(value, weights.weights[2][key])


def test_early_stopping_names_a_missing_monitor(rng):
    model, X, y = _setup(rng)
    with pytest.raises(cr.callbacks.CallbackError, match="val_loss.*validation_data"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
               epochs=2, callbacks=[cr.callbacks.EarlyStopping()], verbose=0)


def test_model_checkpoint_keeps_the_last_files(rng, tmp_path):
    model, X, y = _setup(rng)
    pattern = str(tmp_path / "ckpt-{epoch:02d}.safetensors")
    saver = cr.callbacks.ModelCheckpoint(pattern, every_n_epochs=2, keep_last=2)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=7, batch_size=10, callbacks=[saver], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-04.safetensors", "ckpt-06.safetensors"]
    content = load_checkpoint(tmp_path / "ckpt-06.safetensors")
    assert content["loop"]["epoch"] == 5 and content["loop"]["step"] == 24
    assert len(content["history"]["epoch"]) == 6


def test_model_checkpoint_save_best_only(rng, tmp_path):
    model, X, y = _setup(rng)
    values = [1.0, 0.8, 0.9, 0.5, 0.7]
    path = str(tmp_path / "best.safetensors")
    weights = WeightsPerEpoch()
    saver = cr.callbacks.ModelCheckpoint(path, save_best_only=True)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=5, validation_split=0.25, callbacks=[ScriptedLogs(values), weights, saver],
           verbose=0)
    content = load_checkpoint(path)
    assert content["loop"]["epoch"] == 3
    for key, value in content["model"].items():
        np.testing.assert_array_equal(value, weights.weights[3][key])


class HeldWriter:
    """A writer that keeps the jobs it is given until run_all() (its wait() has nothing
    finished to report)."""

    def __init__(self):
        self.jobs = []

    def submit(self, job):
        self.jobs.append(job)

    def wait(self):
        pass

    def run_all(self):
        while self.jobs:
            self.jobs.pop(0)()


def test_model_checkpoint_every_n_seconds_saves_the_last_epoch(rng, tmp_path):
    model, X, y = _setup(rng)
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    saver = cr.callbacks.ModelCheckpoint(pattern, keep_last=10, every_n_seconds=3600)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=5, batch_size=10, callbacks=[saver], verbose=0)
    assert os.listdir(tmp_path) == ["ckpt-5.safetensors"]
    assert load_checkpoint(tmp_path / "ckpt-5.safetensors")["loop"]["epoch"] == 4


def test_model_checkpoint_every_n_seconds_counts_from_the_last_save(rng, tmp_path, monkeypatch):
    clock = iter(range(0, 1000, 10))  # each read of the clock is 10 s after the one before
    monkeypatch.setattr("chainrule.train.callbacks.model_checkpoint.monotonic",
                        lambda: next(clock))
    model, X, y = _setup(rng)
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    saver = cr.callbacks.ModelCheckpoint(pattern, keep_last=10, every_n_seconds=25)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=7, batch_size=10, callbacks=[saver], verbose=0)
    # Started at t=0; epoch ends read 10, 20, 30 (save, t=40), 50, 60, 70 (save, t=80), ...
    assert sorted(os.listdir(tmp_path)) == [f"ckpt-{e}.safetensors" for e in (3, 6, 7)]


def test_model_checkpoint_every_n_seconds_saves_the_epoch_early_stopping_ends(rng, tmp_path):
    model, X, y = _setup(rng)
    path = tmp_path / "ckpt.safetensors"
    stopper = cr.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    saver = cr.callbacks.ModelCheckpoint(path, every_n_seconds=3600)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=10, validation_split=0.25,
           callbacks=[ScriptedLogs([1.0, 0.5, 0.9, 0.8, 0.7]), stopper, saver], verbose=0)
    assert load_checkpoint(path)["loop"]["epoch"] == 2  # stopped after the third epoch


def test_model_checkpoint_hands_the_writes_to_the_writer_given(rng, tmp_path):
    model, X, y = _setup(rng)
    pattern = str(tmp_path / "ckpt-{epoch}.safetensors")
    writer = HeldWriter()
    saver = cr.callbacks.ModelCheckpoint(pattern, keep_last=1, writer=writer)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=3, batch_size=10, callbacks=[saver], verbose=0)
    assert os.listdir(tmp_path) == [] and len(writer.jobs) == 3  # fit did not wait for them
    weights_after_fit = {k: v.copy() for k, v in model.state_dict().items()}
    writer.run_all()
    assert os.listdir(tmp_path) == ["ckpt-3.safetensors"]  # older ones removed after it
    for key, value in load_checkpoint(tmp_path / "ckpt-3.safetensors")["model"].items():
        np.testing.assert_array_equal(value, weights_after_fit[key])


def test_model_checkpoint_copies_the_state_when_the_epoch_ends(rng, tmp_path):
    """The bytes are made at the hook: training on before the write does not change them."""
    model, X, y = _setup(rng)
    writer = HeldWriter()
    weights = WeightsPerEpoch()
    saver = cr.callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch}.safetensors"),
                                         keep_last=5, writer=writer)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=3, batch_size=10, callbacks=[weights, saver], verbose=0)
    writer.run_all()
    for key, value in load_checkpoint(tmp_path / "ckpt-1.safetensors")["model"].items():
        np.testing.assert_array_equal(value, weights.weights[0][key])


def test_model_checkpoint_write_error_names_the_file(rng, tmp_path):
    model, X, y = _setup(rng)
    path = tmp_path / "missing-folder" / "ckpt.safetensors"
    saver = cr.callbacks.ModelCheckpoint(path)
    with pytest.raises(OSError, match="ckpt.safetensors"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
               epochs=2, batch_size=10, callbacks=[saver], verbose=0)


def test_csv_logger_mirrors_the_history(rng, tmp_path):
    model, X, y = _setup(rng)
    path = tmp_path / "log.csv"
    history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     X, y, epochs=3, metrics=["accuracy"],
                     callbacks=[cr.callbacks.CSVLogger(path)], verbose=0)
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    assert [float(r["loss"]) for r in rows] == history.history["loss"]
    assert [float(r["accuracy"]) for r in rows] == history.history["accuracy"]


def test_learning_rate_scheduler_per_step_and_per_epoch(rng):
    model, X, y = _setup(rng)
    opt = optim.SGD(model.parameters(), lr=1.0)
    per_step = cr.callbacks.LearningRateScheduler(lambda step: 0.5 ** step, per="step")
    history = cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=10,
                     callbacks=[per_step], verbose=0)
    assert history.history["lr"] == [0.5 ** 4, 0.5 ** 8]  # lr logged at each epoch's end
    per_epoch = cr.callbacks.LearningRateScheduler(lambda epoch: 0.1 * epoch, per="epoch")
    history = cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=10,
                     callbacks=[per_epoch], verbose=0)
    assert history.history["lr"] == [0.5 ** 8, 0.1, 0.2]  # the lr each epoch trained with


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_shows_batches_loss_and_lr(rng):
    model, X, y = _setup(rng)
    stream = FakeTerminal()
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=2, batch_size=10, metrics=["accuracy"], verbose=0,
           callbacks=[cr.callbacks.ProgressBar(file=stream)])
    text = stream.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "4/4" in text
    assert "batch/s" in text and "accuracy" in text and "lr 0.1" in text


def test_a_hook_an_instance_declines_is_not_called(tmp_path):
    from chainrule.train.callbacks.base import CallbackList

    per_epoch = cr.callbacks.LearningRateScheduler(lambda epoch: 0.1, per="epoch")
    per_step = cr.callbacks.LearningRateScheduler(lambda step: 0.1, per="step")
    epochs_only = cr.callbacks.ModelCheckpoint(tmp_path / "a.safetensors")
    with_steps = cr.callbacks.ModelCheckpoint(tmp_path / "b.safetensors", every_n_steps=5)
    hooks = CallbackList([per_epoch, per_step, epochs_only, with_steps])._on_batch_end
    assert [hook.__self__ for hook in hooks] == [per_step, with_steps]
    assert len(CallbackList([per_epoch, epochs_only])._on_epoch_end) == 2


def test_model_checkpoint_saves_every_improvement_whatever_every_n_seconds(rng, tmp_path):
    model, X, y = _setup(rng)
    path = tmp_path / "best.safetensors"
    saver = cr.callbacks.ModelCheckpoint(path, save_best_only=True, every_n_seconds=3600)
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=5, validation_split=0.25,
           callbacks=[ScriptedLogs([5.0, 4.0, 3.0, 2.0, 6.0]), saver], verbose=0)
    assert load_checkpoint(path)["loop"]["epoch"] == 3


def test_a_failed_checkpoint_write_stops_training_at_the_next_save(rng, tmp_path):
    model, X, y = _setup(rng)
    (tmp_path / "e2.ckpt").mkdir()  # the second write cannot replace a folder
    saver = cr.callbacks.ModelCheckpoint(str(tmp_path / "e{epoch}.ckpt"), keep_last=1)
    with pytest.raises(IsADirectoryError, match="e2.ckpt"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
               epochs=5, batch_size=10, callbacks=[saver], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["e1.ckpt", "e2.ckpt"]  # the last good one kept
    assert saver.saved == [str(tmp_path / "e2.ckpt")]  # no save begun after the failure
    assert load_checkpoint(tmp_path / "e1.ckpt")["loop"]["epoch"] == 0


def test_a_checkpoint_error_while_training_fails_does_not_hide_the_training_error(
        rng, tmp_path):
    class Boom(cr.callbacks.Callback):
        def on_epoch_end(self, state):
            if state.epoch == 1:
                raise RuntimeError("training failed")

    model, X, y = _setup(rng)
    saver = cr.callbacks.ModelCheckpoint(tmp_path / "gone" / "last.ckpt")
    with pytest.warns(RuntimeWarning, match="ModelCheckpoint failed to close after RuntimeError"):
        with pytest.raises(RuntimeError, match="training failed"):
            cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
                   epochs=5, batch_size=10, callbacks=[Boom(), saver], verbose=0)


@pytest.mark.parametrize("value", [-1, "30", float("nan"), True])
def test_model_checkpoint_every_n_seconds_must_be_a_number(value, tmp_path):
    with pytest.raises(cr.callbacks.CallbackError, match="every_n_seconds must be a number"):
        cr.callbacks.ModelCheckpoint(tmp_path / "c.safetensors", every_n_seconds=value)


def test_every_callback_is_closed_when_one_fails_to_close(rng):
    closed = []

    class FailsToClose(cr.callbacks.Callback):
        def close(self):
            raise OSError("disk gone")

    class Records(cr.callbacks.Callback):
        order = 10

        def close(self):
            closed.append(True)

    model, X, y = _setup(rng)
    with pytest.raises(OSError, match="disk gone"):
        cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
               epochs=1, callbacks=[FailsToClose(), Records()], verbose=0)
    assert closed == [True]


def test_model_checkpoint_saves_from_hooks_of_a_loop_of_ones_own(rng, tmp_path):
    """Its own writer is made when first needed (a loop that skips on_train_begin), one per
    callback until close(), and again after close() for a second fit."""

    class Grab(cr.callbacks.Callback):
        def on_epoch_end(self, state):
            self.state = state

    model, X, y = _setup(rng)
    grab = Grab()
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=1, batch_size=10, callbacks=[grab], verbose=0)
    saver = cr.callbacks.ModelCheckpoint(str(tmp_path / "ckpt-{epoch}.safetensors"), keep_last=5)
    saver.on_epoch_end(grab.state)
    writer = saver.writer
    saver.on_train_begin(grab.state)
    assert saver.writer is writer  # not a second one
    saver.close()
    assert os.listdir(tmp_path) == ["ckpt-1.safetensors"]
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=2, batch_size=10, callbacks=[saver], verbose=0)
    assert sorted(os.listdir(tmp_path)) == ["ckpt-1.safetensors", "ckpt-2.safetensors"]
