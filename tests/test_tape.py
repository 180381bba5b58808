"""The compiled step (chainrule.compile) against the eager step it replaces: the same gradients,
the same trajectories, and the eager step itself wherever the tape does not apply."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.compile import compile_step
from chainrule.train.fit import _compiled_step

RTOL64 = 1e-10


def mlp(sizes, dtype=np.float64, activation=nn.ReLU, seed=0):
    cr.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b, dtype=dtype), activation()]
    return nn.Sequential(*layers[:-1])


def every_layer(dtype=np.float64):
    """A model with one of each layer the tape supports (nested Sequential included)."""
    cr.manual_seed(1)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(6, 8, dtype=dtype), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(8, 8, dtype=dtype), nn.LeakyReLU(0.1),
        nn.Sequential(nn.Linear(8, 8, dtype=dtype), nn.Tanh(), nn.Identity()),
        nn.Linear(8, 8, bias=False, dtype=dtype), nn.Sigmoid(),
        nn.Linear(8, 8, dtype=dtype), nn.GELU(), nn.Linear(8, 8, dtype=dtype),
        nn.GELU("tanh"), nn.Linear(8, 3, dtype=dtype))


def data(n, shape, classes=3, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape)).astype(dtype), rng.integers(0, classes, n)


def eager_grads(model, loss_fn, X, y):
    from chainrule.train.inference import to_input, to_target

    model.zero_grad()
    out = model(to_input(X, X.dtype))
    loss = loss_fn(out, to_target(y, out))
    loss.backward()
    return float(loss.data), [p.grad.copy() for p in model.parameters()]


def assert_close_list(a, b, rtol, atol=0.0):
    assert len(a) == len(b)
    for x, z in zip(a, b):
        np.testing.assert_allclose(x, z, rtol=rtol, atol=atol)


LOSSES = {
    "cross_entropy": (lambda: nn.CrossEntropyLoss(), 3, "labels"),
    "cross_entropy_sum": (lambda: nn.CrossEntropyLoss(reduction="sum"), 3, "labels"),
    "mse": (lambda: nn.MSELoss(), 3, "values"),
    "l1": (lambda: nn.L1Loss(reduction="sum"), 3, "values"),
    "huber": (lambda: nn.HuberLoss(delta=0.3), 3, "values"),
    "bce_logits": (lambda: nn.BCEWithLogitsLoss(), 3, "binary"),
    "mse_one_column": (lambda: nn.MSELoss(), 1, "column"),
}


def targets(kind, n, width, seed=3):
    rng = np.random.default_rng(seed)
    if kind == "labels":
        return rng.integers(0, width, n)
    if kind == "binary":
        return rng.integers(0, 2, (n, width)).astype(np.float64)
    if kind == "column":
        return rng.standard_normal(n)  # (n,) against one output column, as fit() allows
    return rng.standard_normal((n, width))


@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_gradients_match_the_eager_step(loss_name):
    make_loss, width, kind = LOSSES[loss_name]
    model = mlp([5, 7, 6, width], activation=nn.Tanh)
    loss_fn = make_loss()
    step = compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
    assert step.compiled, step.reason
    X, y = np.random.default_rng(0).standard_normal((9, 5)), targets(kind, 9, width)
    expected_loss, expected = eager_grads(model, loss_fn, X, y)
    loss, output = step.forward_backward(X, y)
    assert step.replays == 1 and step.eager_steps == 0
    assert loss == pytest.approx(expected_loss, rel=RTOL64)
    np.testing.assert_allclose(output.data, model(cr.tensor(X)).data, rtol=RTOL64)
    assert_close_list([p.grad for p in model.parameters()], expected, RTOL64)


def test_every_supported_layer_with_dropout_under_the_same_seed():
    model = every_layer()
    loss_fn = nn.CrossEntropyLoss()
    step = compile_step(model, loss_fn, optim.SGD(model.parameters(), lr=0.1))
    assert step.compiled, step.reason
    X, y = data(10, (2, 3))
    cr.manual_seed(7)
    expected_loss, expected = eager_grads(model, loss_fn, X, y)
    cr.manual_seed(7)
    loss, _ = step.forward_backward(X, y)
    assert loss == pytest.approx(expected_loss, rel=RTOL64)
    assert_close_list([p.grad for p in model.parameters()], expected, RTOL64)
    model.eval()  # dropout off, read at every replay
    _, expected = eager_grads(model, loss_fn, X, y)
    step.forward_backward(X, y)
    assert_close_list([p.grad for p in model.parameters()], expected, RTOL64)


OPTIMIZERS = {
    "sgd": lambda p, fused: optim.SGD(p, lr=0.05, fused=fused),
    "sgd_nesterov": lambda p, fused: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                               weight_decay=1e-3, fused=fused),
    "adam": lambda p, fused: optim.Adam(p, lr=1e-2, fused=fused),
    "adam_amsgrad": lambda p, fused: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=1e-2,
                                                fused=fused),
    "adamw": lambda p, fused: optim.AdamW(p, lr=1e-2, fused=fused),
    "rmsprop": lambda p, fused: optim.RMSprop(p, lr=1e-3, momentum=0.5, centered=True,
                                              fused=fused),
    "adagrad": lambda p, fused: optim.Adagrad(p, lr=1e-2, lr_decay=1e-3, fused=fused),
}


def run_trajectory(make_model, make_opt, batches, compiled, seed=5):
    model = make_model()
    opt = make_opt(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    step = compile_step(model, loss_fn, opt)
    cr.manual_seed(seed)
    losses = []
    for X, y in batches:
        if compiled:
            losses.append(step(X, y))
        else:
            opt.zero_grad()
            loss = loss_fn(model(cr.tensor(X)), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.data))
    assert step.replays == (len(batches) if compiled else 0)
    return model, opt, losses


def ragged_batches(n_steps, dtype, shape=(2, 3)):
    """Batches of 8 with a ragged batch of 3 after every fourth (a second tape)."""
    X, y = data(8 * n_steps, shape, dtype=dtype, seed=11)
    out, at = [], 0
    for i in range(n_steps):
        size = 3 if i % 5 == 4 else 8
        out.append((X[at:at + size], y[at:at + size]))
        at += size
    return out


@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_trajectories_float64(name, fused):
    batches = ragged_batches(20, np.float64)
    make_opt = lambda p: OPTIMIZERS[name](p, fused)  # noqa: E731
    eager_model, eager_opt, eager_losses = run_trajectory(every_layer, make_opt, batches, False)
    model, opt, losses = run_trajectory(every_layer, make_opt, batches, True)
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-9)
    assert_close_list([p.data for p in model.parameters()],
                      [p.data for p in eager_model.parameters()], rtol=1e-9, atol=1e-12)
    a, b = opt.state_dict(), eager_opt.state_dict()
    for index, state in b["state"].items():
        for key, value in state.items():
            np.testing.assert_allclose(a["state"][index][key], value, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["adam", "sgd_nesterov"])
def test_trajectories_float32(name):
    batches = ragged_batches(20, np.float32)
    make_opt = lambda p: OPTIMIZERS[name](p, True)  # noqa: E731
    make_model = lambda: every_layer(np.float32)  # noqa: E731
    eager_model, _, eager_losses = run_trajectory(make_model, make_opt, batches, False)
    model, _, losses = run_trajectory(make_model, make_opt, batches, True)
    # float32: the fused loss sums in another order, so agreement is to float32 rounding.
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    for p, q in zip(model.parameters(), eager_model.parameters()):
        assert p.data.dtype == np.float32
        np.testing.assert_allclose(p.data, q.data, rtol=1e-4, atol=1e-5)


def test_trajectory_matches_torch_adam():
    sizes = [4, 16, 16, 3]
    model = mlp(sizes)
    torch_layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        torch_layers += [torch.nn.Linear(a, b).double(), torch.nn.ReLU()]
    torch_model = torch.nn.Sequential(*torch_layers[:-1])
    with torch.no_grad():
        for tp, p in zip(torch_model.parameters(), model.parameters()):
            tp.copy_(torch.from_numpy(p.data))
    step = compile_step(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2,
                                                                 fused=True))
    torch_opt = torch.optim.Adam(torch_model.parameters(), lr=1e-2)
    for i in range(20):
        X, y = data(12, (4,), seed=i)
        step(X, y)
        torch_opt.zero_grad()
        torch.nn.functional.cross_entropy(torch_model(torch.from_numpy(X)),
                                          torch.from_numpy(y)).backward()
        torch_opt.step()
    for tp, p in zip(torch_model.parameters(), model.parameters()):
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-7, atol=1e-10)


def test_fused_gradients_are_written_into_the_flat_buffer():
    model = mlp([3, 5, 2])
    opt = optim.Adam(model.parameters(), fused=True)
    step = compile_step(model, nn.CrossEntropyLoss(), opt)
    step(*data(4, (3,), classes=2))
    views = opt.flat_grad_views(opt.param_groups[0])
    assert all(p.grad is v for p, v in zip(model.parameters(), views))


def test_optimizer_reload_mid_run_keeps_the_trajectory():
    batches = [data(8, (2, 3), seed=i) for i in range(6)]
    make_opt = lambda p: optim.Adam(p, lr=1e-2, fused=True)  # noqa: E731
    expected, _, _ = run_trajectory(every_layer, make_opt, batches, False)
    model = every_layer()
    opt = make_opt(model.parameters())
    step = compile_step(model, nn.CrossEntropyLoss(), opt)
    cr.manual_seed(5)
    for i, (X, y) in enumerate(batches):
        if i == 3:  # rebuilds the optimizer's flat buffers under the tape
            opt.load_state_dict(opt.state_dict())
            model.load_state_dict(model.state_dict())
        step(X, y)
    assert_close_list([p.data for p in model.parameters()],
                      [p.data for p in expected.parameters()], rtol=RTOL64)


def _change_lr(model, opt):
    opt.param_groups[0]["lr"] = 3e-3


def _add_group(model, opt):  # a parameter without a gradient: step() takes its slow path
    opt.add_param_group({"params": [cr.tensor(np.ones(3), requires_grad=True)]})


def _unfuse(model, opt):
    opt.param_groups[0]["fused"] = False


def _replace_data(model, opt):
    model[0].weight.data = model[0].weight.data.copy()


def _replace_state(model, opt):
    weight = model[0].weight
    opt.state[weight] = {k: v.copy() if isinstance(v, np.ndarray) else v
                         for k, v in opt.state[weight].items()}


def _reload(model, opt):
    opt.load_state_dict(opt.state_dict())


@pytest.mark.parametrize("change", [_change_lr, _add_group, _unfuse, _replace_data,
                                    _replace_state, _reload], ids=lambda f: f.__name__[1:])
def test_prepared_optimizer_step_notices_changes_mid_run(change):
    """The compiled step uses the optimizer's prepared step (checks made once); a change to
    the optimizer or the parameters between steps still gives the eager trajectory."""
    batches = [data(8, (4,), seed=i) for i in range(6)]
    results = []
    for compiled in (False, True):
        model = mlp([4, 6, 3])
        opt = optim.Adam(model.parameters(), lr=1e-2, fused=True)
        step = compile_step(model, nn.CrossEntropyLoss(), opt)
        for i, (X, y) in enumerate(batches):
            if i == 3:
                assert (step._prepared_step is not None) == compiled
                change(model, opt)
            if compiled:
                step(X, y)
            else:
                step._eager(X, y)
                opt.step()
        results.append([p.data.copy() for p in model.parameters()])
        assert opt.state_dict()["state"][0]["step"] == 6
    assert_close_list(results[1], results[0], rtol=RTOL64)


def test_a_model_cast_mid_run_is_recorded_again_for_its_new_dtype():
    """Module.to replaces every .data: the tape's buffers are of the old dtype, so that batch
    runs eagerly and the next ones replay a tape recorded for the new dtype."""
    batches = [data(8, (4,), seed=i) for i in range(6)]
    results = []
    for compiled in (False, True):
        model = mlp([4, 6, 3])
        opt = optim.Adam(model.parameters(), lr=1e-2)
        step = compile_step(model, nn.CrossEntropyLoss(), opt)
        losses = []
        for i, (X, y) in enumerate(batches):
            if i == 3:
                model.to(np.float32)
            if compiled:
                losses.append(step(X, y))
            else:
                losses.append(step._eager(X, y)[0])
                opt.step()
        results.append((losses, [p.data.copy() for p in model.parameters()]))
    assert (step.replays, step.eager_steps) == (5, 1)
    (eager_losses, eager_params), (losses, params) = results
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)  # float32 from step 3 on
    for p, q in zip(params, eager_params):
        assert p.dtype == np.float32
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-5)


# --- what the fused road does not take, the traced road replays -----------------------------

class Doubler(nn.Module):
    def forward(self, x):
        return x * 2


TRACED_MODELS = {
    "custom_module": lambda: nn.Sequential(nn.Linear(4, 3, dtype=np.float64), Doubler()),
    "residual": lambda: nn.Sequential(nn.Linear(4, 3, dtype=np.float64),
                                      nn.Residual(nn.Tanh())),
}


@pytest.mark.parametrize("name", sorted(TRACED_MODELS))
def test_models_beyond_the_fused_road_replay_the_eager_step_exactly(name):
    make = TRACED_MODELS[name]
    X, y = data(6, (4,))
    cr.manual_seed(0)
    model, reference = make(), make()
    step = compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    assert step.road == "traced"
    reference.load_state_dict(model.state_dict())
    ref_opt = optim.SGD(reference.parameters(), lr=0.1)
    for _ in range(4):
        step(X, y)
        ref_opt.zero_grad()
        nn.CrossEntropyLoss()(reference(cr.tensor(X)), y).backward()
        ref_opt.step()
    assert step.compiled, step.reason
    assert step.eager_steps == 2 and step.replays == 2  # recorded twice, then replayed
    assert_close_list([p.data for p in model.parameters()],
                      [p.data for p in reference.parameters()], rtol=0)
    assert_close_list(list(model.buffers()), list(reference.buffers()), rtol=0)


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(label_smoothing=0.1),
                                     nn.CrossEntropyLoss(weight=np.arange(1.0, 4.0)),
                                     nn.NLLLoss(), nn.MSELoss(reduction="none")],
                         ids=["smoothing", "weight", "nll", "none"])
def test_losses_beyond_the_fused_road_are_traced(loss_fn):
    model = mlp([4, 3])
    step = compile_step(model, loss_fn, optim.SGD(model.parameters()))
    assert step.road == "traced"
    X, y = data(6, (4,))
    targets = np.zeros((6, 3)) if loss_fn.reduction == "none" else y
    if loss_fn.reduction == "none":
        return  # a loss that is not a scalar cannot be backpropagated, eager or replayed
    for _ in range(3):
        step.forward_backward(X, targets)
    assert step.compiled and step.replays == 1, step.reason


def test_frozen_parameters_and_wrapped_forwards_are_traced():
    X, y = data(6, (4,))
    model = mlp([4, 5, 3])
    model[0].bias.requires_grad = False
    step = compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()))
    for _ in range(3):
        step.forward_backward(X, y)
    assert step.road == "traced" and step.replays == 1 and model[0].bias.grad is None
    model = mlp([4, 5, 3])
    model[1].forward = lambda x: x
    assert compile_step(model, nn.MSELoss(), optim.SGD(model.parameters())).road == "traced"


def test_batches_the_loss_rejects_run_eagerly_and_raise_its_error():
    model = mlp([4, 5, 3])
    step = compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    X, y = data(6, (4,))
    with pytest.raises(nn.LossError, match="out of bounds"):
        step(X, np.array([0, 1, 2, 3, 0, 1]))
    ignored = y.copy()
    ignored[2] = -100  # ignore_index: the eager loss leaves the row out
    expected_loss, expected = eager_grads(model, nn.CrossEntropyLoss(), X, ignored)
    loss, _ = step.forward_backward(X, ignored)
    assert step.replays == 0 and step.eager_steps == 2
    assert loss == pytest.approx(expected_loss, rel=RTOL64)
    assert_close_list([p.grad for p in model.parameters()], expected, RTOL64)
    with pytest.raises(cr.ChainruleError), cr.no_grad():
        step(X, y)


def test_3d_input_to_linear_runs_eagerly():
    model = mlp([4, 3])
    step = compile_step(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    X = np.random.default_rng(0).standard_normal((2, 5, 4))
    loss, output = step.forward_backward(X, np.zeros((2, 5, 3)))
    assert step.eager_steps == 1 and output.shape == (2, 5, 3)


# --- fit ------------------------------------------------------------------------------------

def fit_run(compile, callbacks=(), **options):
    X, y = data(70, (6,), seed=4)  # fit takes 2-D inputs; Flatten is then a no-op
    model = every_layer()
    opt = optim.Adam(model.parameters(), lr=1e-2, fused=True)
    cr.manual_seed(3)
    history = cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=3, batch_size=16, seed=0,
                     verbose=0, metrics=["accuracy"], validation_split=0.2, compile=compile,
                     callbacks=callbacks, **options)
    return model, history


def test_fit_compiled_matches_fit_eager():
    model, history = fit_run(True)
    eager_model, eager_history = fit_run(False)
    for key in ("loss", "accuracy", "val_loss", "grad_norm"):
        np.testing.assert_allclose(history.history[key], eager_history.history[key],
                                   rtol=1e-9)
    assert_close_list([p.data for p in model.parameters()],
                      [p.data for p in eager_model.parameters()], rtol=1e-9, atol=1e-12)


def test_fit_keeps_the_eager_step_for_callbacks_that_need_the_graph():
    class Watcher(cr.callbacks.Callback):
        needs_graph = True

    model = mlp([4, 3])
    from chainrule.train.setup import build_state

    def state(callbacks, optimizer=None):
        return build_state(model, nn.CrossEntropyLoss(),
                           optimizer or optim.SGD(model.parameters()),
                           *data(8, (4,)), epochs=1, batch_size=4, shuffle=False,
                           validation_data=None, validation_split=0.0, callbacks=callbacks,
                           metrics=(), scheduler=None, seed=0, verbose=0)
    assert _compiled_step(state([]), l2=0.0, compile=True) is not None
    assert _compiled_step(state([]), l2=0.0, compile=False) is None
    assert _compiled_step(state([]), l2=0.1, compile=True).road == "traced"
    monitored = _compiled_step(state([cr.callbacks.GradientMonitor()]), l2=0.0, compile=True)
    assert monitored is not None  # it observes activations through compile.tap
    assert _compiled_step(state([Watcher()]), l2=0.0, compile=True) is None
    assert _compiled_step(state([cr.callbacks.Callback()]), l2=0.0, compile=True) is not None


def test_fit_keeps_the_eager_step_for_an_optimizer_of_the_users():
    class MomentumKeepingTheFirstGrad:  # keeps .grad itself: fine when each step makes it anew
        def __init__(self, params):
            self.params = list(params)
            self.param_groups = [{"params": self.params, "lr": 0.1}]

        def zero_grad(self):
            for p in self.params:
                p.grad = None

        def step(self):
            if not hasattr(self, "velocity"):
                self.velocity = [p.grad for p in self.params]
            else:
                self.velocity = [0.9 * v + p.grad for v, p in zip(self.velocity, self.params)]
            for p, v in zip(self.params, self.velocity):
                p.data -= 0.1 * v

    X, y = data(64, (4,), seed=2)
    runs = []
    for compile in (True, False):
        model = mlp([4, 6, 3])
        opt = MomentumKeepingTheFirstGrad(model.parameters())
        runs.append(cr.fit(model, nn.CrossEntropyLoss(), opt, X, y, epochs=2, batch_size=16,
                           seed=0, verbose=0, compile=compile).history["loss"])
    assert runs[0] == runs[1]
