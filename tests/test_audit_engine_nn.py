"""Audit of issues 2 and 3: requirements the other test files leave implicit.

Random graphs of shape-changing ops (matmul, transpose, reshape, indexing, concatenate, stack)
against torch.autograd; bit-for-bit reproducibility of a whole training step under
cr.manual_seed; float32 kept through every layer and loss; every loss module with every
reduction against torch.nn; detect_anomaly naming the user's line when the op runs inside a
layer; no pickle-capable loader anywhere in the package.
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

RTOL, ATOL = 1e-7, 1e-10


# --- random graphs of shape-changing ops against torch.autograd ---------------------------
# Every node is an (n, n) matrix, so any node can meet any other. k varies the index arrays
# (repeated rows included, whose gradients must add up).
def _rows(n, k):
    return (np.arange(n) * k) % n


def _labels(n, k):
    return (np.arange(n) + k) % n


def _same(fn):
    return fn, fn  # written with operators and methods both libraries share


# name -> (chainrule form, torch form), each a function of (x, y, n, k).
SHAPE_OPS = {
    "matmul": _same(lambda x, y, n, k: (x @ y.tanh()) * (1.0 / n)),
    "T": _same(lambda x, y, n, k: x.T),
    "transpose": _same(lambda x, y, n, k: x.transpose(1, 0)),
    "mul": _same(lambda x, y, n, k: x * y.tanh()),
    "add": _same(lambda x, y, n, k: x + y),
    "reshape reversed": (lambda x, y, n, k: x.reshape(-1)[::-1].reshape(n, n),
                         lambda x, y, n, k: x.reshape(-1).flip(0).reshape(n, n)),
    "rows": (lambda x, y, n, k: x[_rows(n, k)],
             lambda x, y, n, k: x[torch.from_numpy(_rows(n, k))]),
    "pick": (lambda x, y, n, k: x[np.arange(n), _labels(n, k)].reshape(n, 1)
             .broadcast_to((n, n)),
             lambda x, y, n, k: x[torch.arange(n), torch.from_numpy(_labels(n, k))]
             .reshape(n, 1).expand(n, n)),
    "concatenate": (lambda x, y, n, k: cr.concatenate([x, y], axis=1)[:, ::2],
                    lambda x, y, n, k: torch.cat([x, y], dim=1)[:, ::2]),
    "stack": (lambda x, y, n, k: cr.stack([x, y, x], axis=k % 2).mean(axis=k % 2),
              lambda x, y, n, k: torch.stack([x, y, x], dim=k % 2).mean(dim=k % 2)),
    "min": (lambda x, y, n, k: x.min(axis=1, keepdims=True) + y,
            lambda x, y, n, k: x.amin(dim=1, keepdim=True) + y),
    "log_softmax": (lambda x, y, n, k: x.log_softmax(axis=k % 2),
                    lambda x, y, n, k: x.log_softmax(dim=k % 2)),
    "leaky_div": (lambda x, y, n, k: x.leaky_relu(0.1) / (y * y + 1.0),
                  lambda x, y, n, k: torch.nn.functional.leaky_relu(x, 0.1) / (y * y + 1.0)),
}


@st.composite
def shape_graphs(draw):
    n = draw(st.integers(1, 4))
    leaves = draw(st.integers(1, 3))
    steps = []
    for _ in range(draw(st.integers(1, 30))):
        pool = leaves + len(steps)
        steps.append((draw(st.sampled_from(sorted(SHAPE_OPS))), draw(st.integers(0, pool - 1)),
                      draw(st.integers(0, pool - 1)), draw(st.integers(0, 5))))
    return n, leaves, steps, draw(st.integers(0, 2**32 - 1))


def _loss(steps, leaves, n, which):
    nodes = list(leaves)
    for op, a, b, k in steps:
        nodes.append(SHAPE_OPS[op][which](nodes[a], nodes[b], n, k))
    loss = nodes[0].sum()
    for i, node in enumerate(nodes[1:], start=1):  # every node reused by the loss too
        loss = loss + node.sum() * (1.0 / i)
    return loss


@settings(max_examples=40, deadline=None)
@given(shape_graphs())
def test_random_graphs_of_shape_ops_match_torch_autograd(graph):
    n, count, steps, seed = graph
    arrays = [np.random.default_rng(seed + i).standard_normal((n, n)) for i in range(count)]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    loss, expected = _loss(steps, ours, n, 0), _loss(steps, theirs, n, 1)
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=RTOL, atol=ATOL)
    for i, (mine, reference) in enumerate(zip(ours, theirs)):
        want = np.zeros((n, n)) if reference.grad is None else reference.grad.numpy()
        got = np.zeros((n, n)) if mine.grad is None else mine.grad
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=f"leaf {i}")


# --- reproducibility ------------------------------------------------------------------------
def _training_step(seed):
    """Seeded init (every init function), dropout, batch norm; forward, backward."""
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.4),
                          nn.Linear(8, 3))
    extra = np.empty((4, 6), np.float32)
    draws = []
    for fill in (nn.init.xavier_uniform_, nn.init.xavier_normal_, nn.init.kaiming_uniform_,
                 nn.init.kaiming_normal_, nn.init.uniform_, nn.init.normal_):
        draws.append(fill(extra).copy())
    x = cr.tensor(np.linspace(-1, 1, 40, dtype=np.float32).reshape(8, 5))
    loss = F.cross_entropy(F.dropout(model(x), 0.2), np.arange(8) % 3)
    loss.backward()
    grads = [p.grad.copy() for p in model.parameters()]
    return [loss.data, *draws, *grads, *model.state_dict().values()]


def test_manual_seed_reproduces_a_whole_training_step_bit_for_bit():
    first, second, other = _training_step(5), _training_step(5), _training_step(6)
    for a, b in zip(first, second):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert any(a.tobytes() != c.tobytes() for a, c in zip(first, other))


# --- float32 by default, float64 on request, through every layer and loss -----------------
LAYERS = [
    lambda: nn.Linear(4, 4), lambda: nn.BatchNorm1d(4), lambda: nn.LayerNorm(4),
    lambda: nn.GELU(), lambda: nn.GELU("tanh"), lambda: nn.Dropout(0.3), lambda: nn.ReLU(),
    lambda: nn.LeakyReLU(0.2), lambda: nn.Sigmoid(), lambda: nn.Tanh(), lambda: nn.Softmax(),
    lambda: nn.LogSoftmax(), lambda: nn.Residual(nn.Linear(4, 4)), lambda: nn.Flatten(),
    lambda: nn.Identity(),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", LAYERS)
def test_every_layer_keeps_the_dtype_in_train_and_eval(make, dtype):
    cr.manual_seed(0)
    layer = make().to(dtype)
    for training in (True, False):
        layer.train(training)
        layer.zero_grad()
        x = cr.tensor(np.random.default_rng(1).standard_normal((6, 4)).astype(dtype),
                      requires_grad=True)
        out = layer(x)
        out.backward(np.ones(out.shape, dtype))
        assert out.dtype == dtype and x.grad.dtype == dtype, repr(layer)
        for name, param in layer.named_parameters():
            assert param.grad is not None and param.grad.dtype == dtype, name
        assert all(b.dtype == dtype for b in layer.buffers() if b.dtype.kind == "f")


LABELS = np.array([0, 1, 2, 3, 0, 1])
LOSSES = {
    "mse": lambda z, y: F.mse_loss(z, y), "l1": lambda z, y: F.l1_loss(z, y),
    "huber": lambda z, y: F.huber_loss(z, y, delta=0.5),
    "bce": lambda z, y: F.binary_cross_entropy(z.sigmoid(), y),
    "bce_with_logits": lambda z, y: F.binary_cross_entropy_with_logits(
        z, y, pos_weight=np.ones(4, z.dtype)),
    "cross_entropy": lambda z, y: F.cross_entropy(z, LABELS, weight=np.ones(4, z.dtype),
                                                  label_smoothing=0.1),
    "cross_entropy probabilities": lambda z, y: F.cross_entropy(z, y / y.sum(1, keepdims=True)),
    "nll": lambda z, y: F.nll_loss(z.log_softmax(), LABELS),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_keeps_the_dtype(name, dtype):
    rng = np.random.default_rng(2)
    z = cr.tensor(rng.standard_normal((6, 4)).astype(dtype), requires_grad=True)
    loss = LOSSES[name](z, rng.uniform(0.1, 1, (6, 4)).astype(dtype))
    loss.backward()
    assert loss.dtype == dtype and z.grad.dtype == dtype


# --- loss modules: every reduction against torch.nn ----------------------------------------
LOSS_MODULES = {
    "MSELoss": (lambda r: nn.MSELoss(reduction=r), lambda r: torch.nn.MSELoss(reduction=r)),
    "L1Loss": (lambda r: nn.L1Loss(reduction=r), lambda r: torch.nn.L1Loss(reduction=r)),
    "HuberLoss": (lambda r: nn.HuberLoss(reduction=r, delta=0.7),
                  lambda r: torch.nn.HuberLoss(reduction=r, delta=0.7)),
    "BCELoss": (lambda r: nn.BCELoss(weight=np.arange(1.0, 4.0), reduction=r),
                lambda r: torch.nn.BCELoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                           reduction=r)),
    "BCEWithLogitsLoss": (
        lambda r: nn.BCEWithLogitsLoss(pos_weight=np.arange(1.0, 4.0), reduction=r),
        lambda r: torch.nn.BCEWithLogitsLoss(
            pos_weight=torch.arange(1.0, 4.0, dtype=torch.float64), reduction=r)),
    "CrossEntropyLoss": (
        lambda r: nn.CrossEntropyLoss(weight=np.arange(1.0, 4.0), ignore_index=1,
                                      label_smoothing=0.2, reduction=r),
        lambda r: torch.nn.CrossEntropyLoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                            ignore_index=1, label_smoothing=0.2, reduction=r)),
    "NLLLoss": (lambda r: nn.NLLLoss(weight=np.arange(1.0, 4.0), reduction=r),
                lambda r: torch.nn.NLLLoss(weight=torch.arange(1.0, 4.0, dtype=torch.float64),
                                           reduction=r)),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(LOSS_MODULES))
def test_loss_modules_with_every_reduction_match_torch(name, reduction):
    rng = np.random.default_rng(3)
    x = rng.uniform(0.1, 0.9, (5, 3)) if name == "BCELoss" else rng.standard_normal((5, 3))
    labels = name in ("CrossEntropyLoss", "NLLLoss")
    target = np.array([0, 2, 1, 2, 1]) if labels else rng.uniform(0, 1, (5, 3))
    ours, theirs = (make(reduction) for make in LOSS_MODULES[name])
    xc, xt = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, out_t = ours(xc, target), theirs(xt, torch.from_numpy(target))
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    out_t.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(out.data, out_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(xc.grad, xt.grad.numpy(), rtol=RTOL, atol=ATOL)


# --- errors ----------------------------------------------------------------------------------
def test_backward_through_a_subgraph_freed_by_another_root_says_so():
    x = cr.tensor(np.array([0.5, 1.5]), requires_grad=True)
    shared = x.exp()
    shared.sum().backward()
    with pytest.raises(cr.ChainruleError, match="already freed.*retain_graph=True"):
        (shared * 2).sum().backward()


def test_detect_anomaly_names_the_users_line_for_an_op_inside_a_layer():
    layer = nn.Linear(2, 2).double()
    layer.weight.data[...] = 1e308
    x = cr.tensor(np.full((1, 2), 10.0))
    with cr.detect_anomaly(), pytest.raises(cr.ChainruleError) as caught:
        layer(x)  # the line detect_anomaly must name
    line = caught.traceback[0].lineno + 1  # pytest's line numbers are 0-based
    assert re.search(rf"linear produced NaN or Inf.*{re.escape(__file__)}:{line}\b",
                     str(caught.value)), str(caught.value)


def test_no_module_can_unpickle():
    source = pathlib.Path(cr.__file__).parent
    risky = re.compile(r"^\s*(import|from)\s+(pickle|dill|cloudpickle|joblib)\b"
                       r"|torch\.load\(|allow_pickle\s*=\s*True|pickle\.loads?\(", re.M)
    found = [f"{path.relative_to(source)}" for path in source.rglob("*.py")
             if risky.search(path.read_text(encoding="utf-8"))]
    assert not found, f"modules that could unpickle: {found}"
