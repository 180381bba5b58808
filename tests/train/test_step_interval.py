"""Callback.step_interval: a sampling callback's per-step hooks run at its steps only."""

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.train.callbacks import GradientMonitor


class Calls(cr.callbacks.Callback):
    """Records (hook, state.step) for every per-step hook it is given."""

    def __init__(self, log, name, interval=None, order=0):
        self.log, self.name, self.order = log, name, order
        self.step_interval = interval

    def on_batch_begin(self, state):
        self.log.append((self.name, "begin", state.step))

    def on_after_backward(self, state):
        self.log.append((self.name, "after_backward", state.step))

    def on_batch_end(self, state):
        self.log.append((self.name, "end", state.step))


class SetsItsInterval(Calls):
    def on_train_begin(self, state):
        self.step_interval = state.batches_per_epoch // 2  # known only now: 4 // 2


def _fit(callbacks, rng, epochs=2, n=32, batch_size=8):
    cr.manual_seed(0)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=n)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    return cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
                  epochs=epochs, batch_size=batch_size, verbose=0, callbacks=callbacks)


def test_per_step_hooks_run_at_the_callbacks_steps_in_order(rng):
    log = []
    every, third, fifth = Calls(log, "every"), Calls(log, "third", 3), Calls(log, "fifth", 5, 1)
    _fit([fifth, third, every], rng)  # 8 steps
    for name, steps in (("every", range(8)), ("third", (0, 3, 6)), ("fifth", (0, 5))):
        calls = [(hook, step) for who, hook, step in log if who == name]
        expected = [(hook, s + (hook == "end")) for s in steps
                    for hook in ("begin", "after_backward", "end")]
        assert calls == expected, name
    # at a step where several are due, they run in their order (fifth's is 1, the others'
    # 0, kept as given)
    at_zero = [(who, hook) for who, hook, step in log[:9]]
    assert at_zero == [(who, hook) for hook in ("begin", "after_backward", "end")
                       for who in ("third", "every", "fifth")]


def test_an_interval_set_when_training_begins_is_used(rng):
    log = []
    _fit([SetsItsInterval(log, "half")], rng, epochs=1)  # 4 steps, every 2nd
    assert [step for _, hook, step in log if hook == "begin"] == [0, 2]


def test_an_interval_of_one_or_none_runs_every_step(rng):
    log = []
    _fit([Calls(log, "one", 1), Calls(log, "none")], rng, epochs=1)
    for name in ("one", "none"):
        assert [s for who, hook, s in log if who == name and hook == "begin"] == [0, 1, 2, 3]


def test_a_resumed_run_keeps_the_schedule(rng, tmp_path):
    """The schedule follows state.step, which a resume restores: the same steps sampled."""
    path = tmp_path / "ck.safetensors"
    log = []
    _fit([Calls(log, "third", 3), cr.callbacks.ModelCheckpoint(path)], rng, epochs=1)
    cr.manual_seed(0)
    X = rng.normal(size=(32, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=32)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    resumed = []
    cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, y,
           epochs=3, batch_size=8, verbose=0, resume_from=path,
           callbacks=[Calls(resumed, "third", 3), cr.callbacks.ModelCheckpoint(path)])
    assert [step for _, hook, step in log if hook == "begin"] == [0, 3]
    assert [step for _, hook, step in resumed if hook == "begin"] == [6, 9]


def test_gradient_monitor_is_called_at_its_sampled_steps_only(rng):
    monitor = GradientMonitor(samples_per_epoch=2, warn=False)
    counts = {"on_after_backward": 0, "on_batch_end": 0}
    for hook in counts:
        original = getattr(monitor, hook)

        def counted(state, hook=hook, original=original):
            counts[hook] += 1
            original(state)

        setattr(monitor, hook, counted)
    history = _fit([monitor], rng, epochs=3)  # 4 steps an epoch: every 2nd sampled
    assert monitor.every_n_steps == 2
    assert counts == {"on_after_backward": 6, "on_batch_end": 6}
    record = history.grad_monitor
    assert record["epoch"] == [0, 1, 2]
    assert all(len(series) == 3 and min(series) > 0 for series in record["update_ratio"].values())
    assert record["dead_relu"]["1"] and set(record["grad_norm"]) == set(record["update_ratio"])
