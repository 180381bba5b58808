"""BatchNorm1d on the fused road of the compiled step: the eager step's numbers bit for bit in
float64 (losses, parameters, running statistics and the batch counter) for each of the layer's
options, and the traced road for what its kernel does not take (eval mode on running
statistics)."""

import numpy as np
import pytest
from training_steps import train_step

import chainrule as cr
from chainrule import nn, optim
from chainrule.compile import compile_step
from chainrule.nn import functional as F


def batches(n_steps, sizes=(8, 8, 5), features=6, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((sizes[i % len(sizes)], features)).astype(dtype),
             rng.integers(0, 3, sizes[i % len(sizes)])) for i in range(n_steps)]


def bn_mlp(first=False, activation=nn.ReLU, linear_bias=True, dtype=np.float64, **options):
    layers = [nn.BatchNorm1d(6, **options)] if first else []
    layers += [nn.Linear(6, 8, bias=linear_bias), nn.BatchNorm1d(8, **options), activation(),
               nn.Linear(8, 8, bias=linear_bias), nn.BatchNorm1d(8, **options), nn.ReLU(),
               nn.Linear(8, 3)]
    return nn.Sequential(*layers).to(dtype=dtype)


def run(make, steps, compiled, eval_from=None, loss_fn=F.cross_entropy):
    cr.manual_seed(5)
    model = make()
    opt = optim.Adam(model.parameters(), lr=1e-2, fused=True)
    step = compile_step(model, loss_fn, opt) if compiled else None
    losses = []
    for i, (X, y) in enumerate(steps):
        if i == eval_from:
            model.eval()
        losses.append(train_step(step, model, opt, loss_fn, X, y))
    state = [np.array(v, copy=True) for v in model.state_dict().values()]
    return losses, state, step


def assert_same(eager, compiled):
    assert eager[0] == compiled[0]
    assert len(eager[1]) == len(compiled[1])
    for a, b in zip(eager[1], compiled[1]):
        np.testing.assert_array_equal(a, b)


OPTIONS = {
    "default": {},
    "first_layer": {"first": True},
    "no_affine": {"affine": False},
    "no_bias": {"bias": False},
    "cumulative": {"momentum": None},
    "untracked": {"track_running_stats": False},
    "tanh": {"activation": nn.Tanh},
    "dropout": {"activation": lambda: nn.Dropout(0.2)},
    "linear_without_bias": {"linear_bias": False},
    "float32": {"dtype": np.float32},
    "float32_no_affine": {"dtype": np.float32, "affine": False},
}


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_a_batch_norm_mlp_takes_the_fused_kernels_and_replays_the_eager_run(name):
    make = lambda: bn_mlp(**OPTIONS[name])  # noqa: E731
    steps = batches(12, dtype=OPTIONS[name].get("dtype", np.float64))
    compiled = run(make, steps, compiled=True)
    step = compiled[2]
    assert step.road == "fused" and step.compiled
    assert step.replays == 12 and step.eager_steps == 0
    assert_same(run(make, steps, compiled=False), compiled)


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(reduction="sum"), nn.MSELoss()],
                         ids=["cross_entropy_sum", "mse"])
def test_other_losses_keep_the_eager_bits(loss_fn):
    steps = batches(8)
    if isinstance(loss_fn, nn.MSELoss):
        steps = [(X, np.eye(3)[y]) for X, y in steps]
    compiled = run(bn_mlp, steps, compiled=True, loss_fn=loss_fn)
    assert compiled[2].road == "fused" and compiled[2].replays == 8
    assert_same(run(bn_mlp, steps, compiled=False, loss_fn=loss_fn), compiled)


def test_eval_mode_on_running_statistics_takes_the_traced_road():
    steps = batches(10, sizes=(8,))
    compiled = run(bn_mlp, steps, compiled=True, eval_from=4)
    step = compiled[2]
    assert step.compiled, step.reason
    assert step.replays == 4 + 4 and step.eager_steps == 2  # eval: recorded twice, replayed
    assert_same(run(bn_mlp, steps, compiled=False, eval_from=4), compiled)


def test_a_batch_of_one_raises_the_eager_error():
    model = bn_mlp()
    step = compile_step(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1))
    X, y = batches(1)[0]
    step(X, y)
    with pytest.raises(cr.ChainruleError, match="more than 1 value per channel"):
        step(X[:1], y[:1])
