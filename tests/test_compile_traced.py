"""The traced road of the compiled step against the eager step: the same numbers, bit for bit
in float64, over custom Modules, functional and hand-written losses, every layer and loss
option, ragged batches, dtype and train/eval switches; and the eager step, with a reason,
for steps that depend on the data."""

from __future__ import annotations

import numpy as np
import pytest
from test_ops import CASE_TABLES

import chainrule as cr
from chainrule import nn, optim
from chainrule.compile import CompileCheckError, compile_step
from chainrule.compile.fused import FusedRoad
from chainrule.compile.program import Program
from chainrule.compile.trace import recording
from chainrule.nn import functional as F
from training_steps import train_step


def data(n, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)), rng.integers(0, classes, n)


class Branchy(nn.Module):
    """Two branches, a concatenation, a residual and a norm: how PyTorch users write models."""

    def __init__(self):
        super().__init__()
        self.left, self.right = nn.Linear(6, 5), nn.Linear(6, 5)
        self.norm = nn.LayerNorm(10)
        self.bn = nn.BatchNorm1d(10)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(10, 3)

    def forward(self, x):
        h = cr.concatenate([self.left(x).tanh(), F.gelu(self.right(x))], axis=1)
        h = self.drop(self.bn(self.norm(h) + h).relu())
        return self.head(h)


def hand_loss(output, target):
    """A loss written with tensor ops: squared error on softmax probabilities."""
    probs = output.softmax(axis=-1)
    onehot = F.one_hot(target, 3) if hasattr(F, "one_hot") else None
    if onehot is None:
        return (probs * probs).mean() - probs.max(axis=-1).mean()
    return ((probs - onehot) ** 2).mean()


LOSSES = {
    "functional_ce": F.cross_entropy,
    "smoothing_weights": nn.CrossEntropyLoss(label_smoothing=0.1, weight=np.array([1.0, 2.0, 0.5])),
    "ignore_index": nn.CrossEntropyLoss(ignore_index=1),
    "sum": nn.CrossEntropyLoss(reduction="sum"),
    "nll": lambda out, y: F.nll_loss(out.log_softmax(axis=-1), y),
    "hand_written": hand_loss,
}


def train(make_model, loss_fn, batches, compiled, optimizer=optim.Adam, check=False, **options):
    cr.manual_seed(7)
    model = make_model()
    opt = optimizer(model.parameters(), lr=1e-2, **options)
    step = compile_step(model, loss_fn, opt, check=check) if compiled else None
    losses = []
    for X, y in batches:
        losses.append(train_step(step, model, opt, loss_fn, X, y))
    return losses, model, step


def batches(n_steps, sizes=(8,), seed=0):
    X, y = data(200, seed=seed)
    out, start = [], 0
    for i in range(n_steps):
        size = sizes[i % len(sizes)]
        out.append((X[start:start + size], y[start:start + size]))
        start = (start + size) % 150
    return out


def assert_same_run(a, b):
    (losses_a, model_a, _), (losses_b, model_b, _) = a, b
    assert losses_a == losses_b
    for (name, p), q in zip(model_a.named_parameters(), model_b.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    for p, q in zip(model_a.buffers(), model_b.buffers()):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_custom_module_and_every_loss_replay_the_eager_run_bit_for_bit(loss_name):
    make = lambda: Branchy().double()  # noqa: E731
    run = batches(20, sizes=(8, 8, 5))  # a ragged batch every third step
    eager = train(make, LOSSES[loss_name], run, compiled=False)
    compiled = train(make, LOSSES[loss_name], run, compiled=True)
    step = compiled[2]
    assert step.road == "traced" and step.compiled, step.reason
    assert step.replays == 20 - 4  # two recordings for each of the two batch shapes
    assert_same_run(eager, compiled)


@pytest.mark.parametrize("optimizer,options", [(optim.SGD, {"momentum": 0.9}),
                                               (optim.AdamW, {"fused": True}),
                                               (optim.RMSprop, {"foreach": True})])
def test_every_optimizer_road_gives_the_eager_trajectory(optimizer, options):
    make = lambda: Branchy().double()  # noqa: E731
    run = batches(12)
    assert_same_run(train(make, F.cross_entropy, run, False, optimizer, **options),
                    train(make, F.cross_entropy, run, True, optimizer, **options))


def test_train_eval_and_dtype_switches_record_anew():
    cr.manual_seed(0)
    model = Branchy().double()
    step = compile_step(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1))
    X, y = data(8)
    for _ in range(3):
        step(X, y)
    model.eval()  # BatchNorm on running statistics, dropout off: another program
    reference = Branchy().double()
    for _ in range(3):
        reference.load_state_dict(model.state_dict())
        reference.eval()
        expected = F.cross_entropy(reference(cr.tensor(X)), cr.tensor(y))
        loss, _ = step.forward_backward(X, y)
        assert loss == float(expected.data)
        step.optimizer_step()
    assert step.replays == 2  # one replay in train mode, one in eval mode
    model.train().float()
    step(X.astype(np.float32), y)
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_a_read_of_a_computed_value_keeps_the_eager_step_with_its_reason():
    class Gated(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(6, 3)

        def forward(self, x):
            out = self.layer(x)
            return out * 2 if out.sum().item() > 0 else out  # depends on the data

    model = Gated().double()
    step = compile_step(model, F.cross_entropy, optim.SGD(model.parameters()))
    X, y = data(8)
    for _ in range(3):
        step(X, y)
    assert not step.compiled and step.replays == 0
    assert ".item()" in step.reason and "test_compile_traced.py" in step.reason


def test_numpy_outside_the_ops_that_changes_with_the_data_is_found():
    def numpy_loss(output, target):
        onehot = np.eye(3)[target.data]  # computed from the batch outside chainrule's ops
        return ((output - cr.tensor(onehot)) ** 2).mean()

    model = nn.Linear(6, 3).double()
    step = compile_step(model, numpy_loss, optim.SGD(model.parameters()))
    for X, y in batches(4):
        step(X, y)
    assert not step.compiled and step.replays == 0
    assert "changes from batch to batch" in step.reason


def test_check_mode_compares_every_replay_with_the_eager_step():
    make = lambda: Branchy().double()  # noqa: E731
    run = batches(6)
    assert_same_run(train(make, F.cross_entropy, run, False),
                    train(make, F.cross_entropy, run, True, check=True))

    scale = [1.0]

    def drifting(output, target):  # a Python number the recording froze
        return F.cross_entropy(output * scale[0], target)

    model = nn.Linear(6, 3).double()
    step = compile_step(model, drifting, optim.SGD(model.parameters()), check=True)
    X, y = data(8)
    for _ in range(3):
        step(X, y)
    scale[0] = 2.0
    with pytest.raises(CompileCheckError, match="differs"):
        step(X, y)


def test_fit_with_l2_and_the_cli_callbacks_runs_compiled():
    X, y = data(64)
    runs = []
    for compile in (False, True):
        cr.manual_seed(1)
        model = Branchy().double()
        history = cr.fit(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2), X, y,
                         epochs=3, batch_size=16, seed=0, verbose=0, l2=1e-3, compile=compile)
        runs.append((history.history["loss"], [p.data.copy() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    for p, q in zip(runs[0][1], runs[1][1]):
        np.testing.assert_array_equal(p, q)


# --- every registered primitive replays its gradcheck cases -----------------------------------

@pytest.mark.parametrize("name", sorted(cr.REGISTRY))
def test_every_registered_op_replays(name):
    """Record fn(*inputs).sum().backward() on one draw, replay it on inputs moved by 0.01 (the same
    shapes), and compare with the eager values: a primitive with hidden state fails here."""
    assert name in CASE_TABLES, f"primitive {name!r} has no case in tests/cases/"
    for fn, inputs, *_ in CASE_TABLES[name](np.random.default_rng(0)):
        leaves = [cr.tensor(x, requires_grad=x.dtype.kind == "f") for x in inputs]
        program = _record(fn, leaves)
        moved = [x + 0.01 if x.dtype.kind == "f" else x for x in inputs]
        cr.manual_seed(3)
        values, grads = program.run(moved)
        tensors = [cr.tensor(x, requires_grad=x.dtype.kind == "f") for x in moved]
        cr.manual_seed(3)
        out = fn(*tensors).sum()
        out.backward()
        np.testing.assert_array_equal(values["loss"], out.data)
        for grad, t in zip(grads, tensors):
            if t.requires_grad:
                np.testing.assert_array_equal(grad, t.grad)


def _record(fn, leaves):
    with recording([t.data for t in leaves], leaves) as recorder:
        out = fn(*leaves).sum()
        out.backward()
    assert not recorder.problems, recorder.problems
    grads = [recorder.leaf_grads.get(id(t)) for t in leaves]
    return Program(recorder, len(leaves), {"loss": recorder.slot_of[id(out.data)]}, grads)


def test_gradient_monitor_observes_the_fused_steps_without_changing_them(monkeypatch):
    """The monitor's wrapped activations (compile.observed_forward) keep a Sequential on the
    fused road: the same numbers as without the monitor, its record that of the eager run."""
    from chainrule.compile.fused import Plan

    runs = []
    plan_run = Plan.run
    monkeypatch.setattr(Plan, "run", lambda self, *args: runs.append(1) or plan_run(self, *args))
    X, y = data(64)
    results = []
    for compile, monitored in ((False, True), (True, False), (True, True)):
        cr.manual_seed(1)
        model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(),
                              nn.Linear(8, 3)).double()
        monitor = [cr.callbacks.GradientMonitor()] if monitored else []
        history = cr.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                         X, y, epochs=3, batch_size=8, seed=0, verbose=0, callbacks=monitor,
                         compile=compile)
        results.append((history.history["loss"], history.grad_monitor,
                        [p.data.copy() for p in model.parameters()]))
    (eager_loss, eager_record, _), (bare_loss, _, bare), (loss, record, weights) = results
    assert len(runs) == 2 * 3 * 8  # every batch of both compiled runs on the fused kernels
    assert loss == bare_loss
    for p, q in zip(weights, bare):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_allclose(loss, eager_loss, rtol=1e-10)
    assert record["dead_relu"] == eager_record["dead_relu"]
    assert record["saturated"] == eager_record["saturated"] and record["saturated"]["3"]
    for key in ("grad_norm", "update_ratio"):
        assert record[key].keys() == eager_record[key].keys()
        for name, series in record[key].items():
            np.testing.assert_allclose(series, eager_record[key][name], rtol=1e-10)


def test_a_buffer_is_read_by_every_replay():
    class Tempered(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(6, 3)
            self.register_buffer("temperature", np.array(1.0))

        def forward(self, x):
            return self.layer(x) / self.temperature

    model = Tempered().double()
    step = compile_step(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.0))
    X, y = data(8)
    for _ in range(3):
        step(X, y)
    model.temperature = np.array(4.0)  # replaced between steps, as a schedule would
    loss = step(X, y)
    expected = F.cross_entropy(model(cr.tensor(X)), cr.tensor(y))
    assert step.replays == 2 and loss == float(expected.data)


def test_a_custom_mlp_module_takes_the_fused_kernels():
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = nn.Linear(6, 16), nn.Linear(16, 3)

        def forward(self, x):
            return self.out(self.hidden(x).relu())

    results = []
    for make in (lambda: MLP(), lambda: nn.Sequential(nn.Linear(6, 16), nn.ReLU(),
                                                       nn.Linear(16, 3))):
        cr.manual_seed(2)
        model = make().double()
        step = compile_step(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2))
        losses = [step(X, y) for X, y in batches(10)]
        results.append((losses, [p.data.copy() for p in model.parameters()]))
        if isinstance(model, MLP):
            assert step.road == "traced"
            assert [type(e) for e in step.traced.programs.values()] == [FusedRoad]
    assert step.road == "fused"
    (custom_losses, custom), (losses, sequential) = results
    # The first two steps run eagerly to record; from then on the same kernels as Sequential.
    np.testing.assert_allclose(custom_losses, losses, rtol=1e-12)
    for p, q in zip(custom, sequential):
        np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-13)
